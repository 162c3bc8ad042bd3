"""d2lhelpers: the helper package of an interactive deep-learning textbook.

Import it as ``import d2lhelpers as d2l``.
"""

from .animator import Animator
from .arrays import TensorLoader, load_array, synthetic_data
from .convolution import (
    conv_output_size,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    pool2d,
)
from .datasets import (
    DATASETS,
    DataSetNotFoundError,
    cache_dir,
    get_data_path,
    resolve_dataset,
)
from .devices import cpu, num_gpus, try_all_gpus, try_gpu
from .fashion_mnist import (
    FASHION_MNIST_LABELS,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    read_fashion_mnist,
)
from .linear_models import cross_entropy, data_iter, linreg, sgd, softmax, squared_loss
from .model_selection import get_k_fold_data, k_fold_indices, log_rmse
from .model_summary import count_parameters, layer_summary, multiply_adds
from .modern_cnns import (
    DENSENET121,
    GOOGLENET_INCEPTIONS,
    RESNET18,
    VGG11,
    DenseBlock,
    Inception,
    Residual,
    alexnet,
    densenet,
    googlenet,
    lenet,
    nin,
    nin_block,
    resnet,
    transition_block,
    vgg,
    vgg_block,
)
from .ngram import NGramModel
from .plotting import plot, set_axes, set_figsize, show_images
from .reduced import env_flag, reduced_mode, target
from .reproducibility import seed_everything
from .rnn import (
    LanguageModelHistory,
    RNNModel,
    detach_state,
    perplexity_on,
    predict,
    train_language_model,
)
from .sequence_data import (
    SeqDataLoader,
    load_data_time_machine,
    seq_data_iter_random,
    seq_data_iter_sequential,
    split_corpus,
)
from .text import Vocab, load_corpus_time_machine, read_time_machine, tokenize
from .timing import Accumulator, Timer
from .training import TrainingHistory, accuracy, evaluate_accuracy, train_classifier
from .translation import (
    build_array_nmt,
    load_data_cmn_eng,
    preprocess_eng,
    read_cmn_eng,
    read_cmn_eng_attributions,
    split_pairs,
    tokenize_cmn_eng,
    tokenize_eng,
    tokenize_zh,
    truncate_pad,
)

__version__ = "0.1.0"

__all__ = [
    "Accumulator",
    "Animator",
    "DATASETS",
    "DENSENET121",
    "DataSetNotFoundError",
    "DenseBlock",
    "FASHION_MNIST_LABELS",
    "GOOGLENET_INCEPTIONS",
    "Inception",
    "LanguageModelHistory",
    "RESNET18",
    "RNNModel",
    "Residual",
    "SeqDataLoader",
    "TensorLoader",
    "Timer",
    "TrainingHistory",
    "VGG11",
    "NGramModel",
    "Vocab",
    "accuracy",
    "alexnet",
    "build_array_nmt",
    "cache_dir",
    "conv_output_size",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "count_parameters",
    "cpu",
    "cross_entropy",
    "data_iter",
    "densenet",
    "detach_state",
    "env_flag",
    "evaluate_accuracy",
    "get_data_path",
    "get_fashion_mnist_labels",
    "get_k_fold_data",
    "googlenet",
    "k_fold_indices",
    "layer_summary",
    "lenet",
    "linreg",
    "load_array",
    "load_corpus_time_machine",
    "load_data_cmn_eng",
    "load_data_fashion_mnist",
    "load_data_time_machine",
    "log_rmse",
    "multiply_adds",
    "nin",
    "nin_block",
    "num_gpus",
    "perplexity_on",
    "plot",
    "pool2d",
    "predict",
    "preprocess_eng",
    "read_cmn_eng",
    "read_cmn_eng_attributions",
    "read_fashion_mnist",
    "read_time_machine",
    "reduced_mode",
    "resnet",
    "resolve_dataset",
    "seed_everything",
    "seq_data_iter_random",
    "seq_data_iter_sequential",
    "set_axes",
    "set_figsize",
    "sgd",
    "show_images",
    "softmax",
    "split_corpus",
    "split_pairs",
    "squared_loss",
    "synthetic_data",
    "target",
    "tokenize",
    "tokenize_cmn_eng",
    "tokenize_eng",
    "tokenize_zh",
    "train_classifier",
    "train_language_model",
    "transition_block",
    "truncate_pad",
    "try_all_gpus",
    "try_gpu",
    "vgg",
    "vgg_block",
]
