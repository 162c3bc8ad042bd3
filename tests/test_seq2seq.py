"""Tests of d2lhelpers.seq2seq: GRU encoder–decoder, masked loss, training, decoding, BLEU."""

from __future__ import annotations

import pytest
import sacrebleu
import torch
from torch.nn import functional as F

from d2lhelpers.seq2seq import (
    EncoderDecoder,
    Seq2SeqDecoder,
    Seq2SeqEncoder,
    corpus_bleu_zh,
    evaluate_bleu,
    group_references,
    masked_cross_entropy,
    sequence_mask,
    train_seq2seq,
    translate,
)
from d2lhelpers.translation import load_data_cmn_eng

PAIRS = [
    ("Hi.", "嗨。"),
    ("Hi.", "你好。"),
    ("Run!", "跑！"),
    ("I won!", "我赢了！"),
    ("Who are you?", "你是谁？"),
    ("Tom is here.", "汤姆在这里。"),
    ("I like tea.", "我喜欢茶。"),
    ("I like you.", "我喜欢你。"),
    ("Are you Tom?", "你是汤姆吗？"),
    ("I like Tom.", "我喜欢汤姆。"),
]


def make_net(src_size=12, tgt_size=15, layers=2, embed=6, hidden=8):
    torch.manual_seed(0)
    encoder = Seq2SeqEncoder(src_size, embed, hidden, layers)
    decoder = Seq2SeqDecoder(tgt_size, embed, hidden, layers)
    return EncoderDecoder(encoder, decoder)


def test_shapes():
    net = make_net()
    X = torch.randint(0, 12, (4, 7))
    valid_len = torch.tensor([7, 3, 1, 5])
    outputs, hidden = net.encoder(X, valid_len)
    assert outputs.shape == (7, 4, 8) and hidden.shape == (2, 4, 8)
    context, state_hidden = net.decoder.init_state((outputs, hidden), valid_len)
    assert context.shape == (4, 8) and torch.equal(state_hidden, hidden)
    logits, (context2, hidden2) = net(X, torch.randint(0, 15, (4, 5)), valid_len)
    assert logits.shape == (4, 5, 15) and hidden2.shape == (2, 4, 8) and context2.shape == (4, 8)


def test_encoder_ignores_padding():
    net = make_net()
    X = torch.randint(0, 12, (3, 6))
    valid_len = torch.tensor([6, 2, 4])
    outputs, hidden = net.encoder(X, valid_len)
    changed = X.clone()
    changed[1, 2:] = 0  # different padding after the valid tokens
    changed[2, 4:] = 5
    outputs2, hidden2 = net.encoder(changed, valid_len)
    assert torch.allclose(hidden, hidden2) and torch.allclose(outputs, outputs2)
    assert (outputs[2:, 1] == 0).all()  # padded steps give zero outputs
    # the top-layer final hidden state is the output at the last valid step
    assert torch.allclose(hidden[-1, 1], outputs[1, 1]) and torch.allclose(
        hidden[-1, 2], outputs[3, 2]
    )
    # a row read alone gives the same state
    _, alone = net.encoder(X[1:2, :2], torch.tensor([2]))
    assert torch.allclose(alone[:, 0], hidden[:, 1], atol=1e-6)
    # without valid_len every step is read
    _, unmasked = net.encoder(X, None)
    assert torch.allclose(unmasked[:, 0], hidden[:, 0], atol=1e-6)
    assert not torch.allclose(unmasked[:, 1], hidden[:, 1])


def test_step_by_step_decoding_equals_whole_sequence():
    net = make_net()
    X, Y = torch.randint(0, 12, (3, 5)), torch.randint(0, 15, (3, 6))
    valid_len = torch.tensor([5, 2, 3])
    state = net.decoder.init_state(net.encoder(X, valid_len), valid_len)
    whole, _ = net.decoder(Y, state)
    steps = []
    for t in range(Y.shape[1]):
        logits, state = net.decoder(Y[:, t : t + 1], state)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1), whole, atol=1e-6)
    assert torch.equal(state[0], net.encoder(X, valid_len)[1][-1])  # context unchanged


def test_sequence_mask():
    X = torch.arange(1.0, 7.0).reshape(2, 3)
    assert sequence_mask(X, torch.tensor([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]
    assert sequence_mask(X, torch.tensor([0, 3]), value=-1).tolist() == [[-1, -1, -1], [4, 5, 6]]
    X3 = torch.ones(2, 3, 4)
    masked = sequence_mask(X3, torch.tensor([2, 1]))
    assert masked.sum(dim=(1, 2)).tolist() == [8, 4] and torch.equal(X3, torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="valid_len"):
        sequence_mask(X, torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="valid_len"):
        sequence_mask(X, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="X"):
        sequence_mask(torch.ones(3), torch.tensor([1, 2, 3]))


def test_masked_cross_entropy():
    torch.manual_seed(0)
    logits, Y = torch.randn(2, 4, 5), torch.randint(0, 5, (2, 4))
    valid_len = torch.tensor([4, 2])
    loss = masked_cross_entropy(logits, Y, valid_len)
    assert loss.shape == (2,)
    full = F.cross_entropy(logits[0], Y[0])
    part = F.cross_entropy(logits[1, :2], Y[1, :2])
    assert torch.allclose(loss, torch.stack([full, part]))
    # changing padded positions changes nothing
    logits2, Y2 = logits.clone(), Y.clone()
    logits2[1, 2:] = 100.0
    Y2[1, 2:] = 0
    assert torch.allclose(masked_cross_entropy(logits2, Y2, valid_len), loss)
    with pytest.raises(ValueError, match="Y"):
        masked_cross_entropy(logits, Y[:, :3], valid_len)
    with pytest.raises(TypeError, match="Y"):
        masked_cross_entropy(logits, Y.float(), valid_len)
    with pytest.raises(ValueError, match="valid_len"):
        masked_cross_entropy(logits, Y, torch.tensor([5, 1]))


def test_constructor_errors():
    with pytest.raises(ValueError, match="num_hiddens"):
        Seq2SeqEncoder(10, 4, 0, 1)
    with pytest.raises(ValueError, match="dropout"):
        Seq2SeqDecoder(10, 4, 4, 1, dropout=1.0)
    with pytest.raises(TypeError, match="decoder"):
        EncoderDecoder(Seq2SeqEncoder(10, 4, 4, 1), torch.nn.Linear(2, 2))
    net = make_net()
    with pytest.raises(TypeError, match="X"):
        net.encoder(torch.ones(2, 3), None)
    with pytest.raises(ValueError, match="valid_len"):
        net.encoder(torch.ones(2, 3, dtype=torch.int64), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="hidden state"):
        Seq2SeqDecoder(10, 4, 8, 3).init_state(net.encoder(torch.ones(1, 2, dtype=torch.int64)))


@pytest.fixture
def one_thread():
    """Tiny models train many times faster on one thread than on two busy ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_train_and_translate_memorises_tiny_corpus(one_thread):
    torch.manual_seed(0)
    train_iter, _, src_vocab, tgt_vocab = load_data_cmn_eng(
        batch_size=9, num_steps=8, min_freq=1, held_out=1, pairs=PAIRS
    )
    net = EncoderDecoder(
        Seq2SeqEncoder(len(src_vocab), 16, 32, 1), Seq2SeqDecoder(len(tgt_vocab), 16, 32, 1)
    )
    history = train_seq2seq(net, train_iter, 80, 0.05, tgt_vocab, device="cpu", plot=False)
    assert len(history.loss) == 80 and history.loss[-1] < 0.1 < history.loss[0]
    assert history.tokens_trained > 0 and history.tokens_per_sec > 0
    train_pairs = [p for p in PAIRS if p[0] in {"Who are you?", "I like tea.", "Run!"}]
    out = translate(net, [e for e, _ in train_pairs], src_vocab, tgt_vocab, num_steps=8)
    hypotheses = ["".join(tokens) for tokens in out]
    assert hypotheses == [c for _, c in train_pairs]
    # batching does not change a translation
    alone = translate(net, ["I like tea."], src_vocab, tgt_vocab, num_steps=8)
    assert alone == [out[2]]
    assert translate(net, [], src_vocab, tgt_vocab, num_steps=8) == []
    assert all(len(t) <= 3 for t in translate(net, ["I like you."], src_vocab, tgt_vocab, 3))
    assert evaluate_bleu(net, train_pairs, src_vocab, tgt_vocab, num_steps=8) == pytest.approx(100)
    with pytest.raises(TypeError, match="sentences"):
        translate(net, "Hi.", src_vocab, tgt_vocab, 8)
    with pytest.raises(ValueError, match="lr"):
        train_seq2seq(net, train_iter, 1, -1.0, tgt_vocab, plot=False)
    with pytest.raises(TypeError, match="net"):
        train_seq2seq(torch.nn.Linear(2, 2), train_iter, 1, 0.1, tgt_vocab, plot=False)


def test_group_references_and_bleu():
    sources, references = group_references(PAIRS[:4] + [("hi .", "嗨！")])
    assert sources == ["Hi.", "Run!", "I won!"]
    assert references == [["嗨。", "你好。", "嗨！"], ["跑！"], ["我赢了！"]]
    hyps = ["你好。", "跑！", "我赢！"]
    expected = sacrebleu.corpus_bleu(
        hyps,
        [["嗨。", "跑！", "我赢了！"], ["你好。", None, None], ["嗨！", None, None]],
        tokenize="zh",
    ).score
    assert corpus_bleu_zh(hyps, references) == pytest.approx(expected)
    assert corpus_bleu_zh(["我赢了！"], [["我赢了！"]]) == pytest.approx(100)
    with pytest.raises(ValueError, match="equal length"):
        corpus_bleu_zh(hyps, references[:2])
    with pytest.raises(ValueError, match="reference"):
        corpus_bleu_zh(["a"], [[]])
    with pytest.raises(TypeError, match="pairs"):
        group_references([("Hi.",)])
