// Latent Lab: the test digit's image beside the pointer over a latent map (see ui/hover.py).
// Runs in the app's page on every rerun; installs itself once and keeps one sprite per dataset.
(() => {
  const config = __CONFIG__;
  const state = window.latentLabHover || (window.latentLabHover = { sprites: {}, installed: false, shown: 0 });
  if (!state.sprites[config.dataset] || state.sprites[config.dataset].src.indexOf(config.url) < 0) {
    const image = new Image();
    image.src = config.url;
    state.sprites[config.dataset] = image;
  }
  state.config = config;
  if (state.installed) return;
  state.installed = true;

  const scale = 3, size = 28 * scale;
  const box = document.createElement("div");
  box.id = "latent-lab-hover";
  box.style.cssText = "position:fixed;display:none;pointer-events:none;z-index:100000;background:#fff;" +
    "border:1px solid #888;border-radius:4px;padding:4px;font:12px sans-serif;color:#222;text-align:center;" +
    "box-shadow:0 2px 6px rgba(0,0,0,.25)";
  const canvas = document.createElement("canvas");
  canvas.width = size; canvas.height = size;
  canvas.style.cssText = `display:block;width:${size}px;height:${size}px`;
  const caption = document.createElement("div");
  box.append(canvas, caption);
  document.body.appendChild(box);

  function hide() { box.style.display = "none"; box.dataset.index = ""; }
  function show(event) {
    const point = event && event.points && event.points[0];
    const meta = point && point.data && point.data.meta;
    if (typeof meta !== "string" || !meta.startsWith(state.config.prefix) || !point.customdata) return hide();
    const image = state.sprites[meta.slice(state.config.prefix.length)];
    const index = Number(point.customdata[1]);
    if (!image || !image.complete || !image.naturalWidth || !Number.isInteger(index)) return hide();
    const columns = state.config.columns;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(image, (index % columns) * 28, Math.floor(index / columns) * 28, 28, 28, 0, 0, size, size);
    caption.textContent = `test #${index} · ${point.data.name}`;
    box.dataset.index = String(index);
    box.style.display = "block";
    state.shown += 1;
    const mouse = event.event || {};
    const x = (mouse.clientX || 0) + 18, y = (mouse.clientY || 0) + 18;
    box.style.left = Math.min(x, window.innerWidth - size - 16) + "px";
    box.style.top = Math.min(y, window.innerHeight - size - 36) + "px";
  }
  function attach() {
    document.querySelectorAll(".js-plotly-plot").forEach(plot => {
      if (plot.latentLabHover || typeof plot.on !== "function") return;
      plot.latentLabHover = true;
      plot.on("plotly_hover", show);
      plot.on("plotly_unhover", hide);
    });
  }
  attach();
  setInterval(attach, 500);  // maps drawn after this script (and after each rerun) get it too
})();
