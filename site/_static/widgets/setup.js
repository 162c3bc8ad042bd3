// Loaded before RequireJS on pages with ipywidgets (see nb_ipywidgets_js in conf.py).

// RequireJS resolves the embed manager's modules, and webpack its fonts, against baseUrl: point
// it at the copies this site serves, so nothing is fetched from a CDN.
var require = {
  baseUrl: document.documentElement.dataset.content_root + "_static/widgets/",
};

// The embed manager typesets widget labels through MathJax 2's MathJax.Hub.Queue; the site
// loads MathJax 3, whose equivalent is typesetPromise. MathJax is a deferred script, so it
// exists by DOMContentLoaded, before the widgets render.
document.addEventListener("DOMContentLoaded", () => {
  const mathjax = window.MathJax;
  if (mathjax && !mathjax.Hub) {
    mathjax.Hub = {
      Queue: ([, , element]) =>
        mathjax.startup.promise.then(() => mathjax.typesetPromise([element])),
    };
  }
});

// The embed manager leaves a widget's images without alt text and its slider handles without
// an accessible name. Both are written from the widget's own labels and values ("x0 = 1.00"),
// whenever widgets are (re)drawn.
function describeWidgets() {
  for (const box of document.querySelectorAll(".widget-interact")) {
    const settings = [];
    for (const control of box.querySelectorAll(".widget-slider, .widget-dropdown")) {
      const label = control.querySelector(".widget-label")?.textContent ?? "";
      const value =
        control.querySelector(".widget-readout")?.textContent ??
        control.querySelector("select")?.value;
      control.querySelector("[role=slider]")?.setAttribute("aria-label", label);
      settings.push(`${label} = ${value}`);
    }
    for (const img of box.querySelectorAll(".widget-output img:not([alt])")) {
      img.alt = `The figure the widget above draws for ${settings.join(", ")}`;
    }
  }
}
new MutationObserver(describeWidgets).observe(document.documentElement, {
  childList: true,
  subtree: true,
});
