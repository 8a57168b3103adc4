// Live countdowns for every <time class="countdown" datetime="...">.
(function () {
  function format(seconds) {
    const sign = seconds < 0 ? "-" : "";
    seconds = Math.abs(Math.round(seconds));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return sign + (h ? h + ":" + pad(m) : m) + ":" + pad(s);
  }
  function tick() {
    document.querySelectorAll("time.countdown").forEach(function (element) {
      const left = (Date.parse(element.getAttribute("datetime")) - Date.now()) / 1000;
      element.textContent = left >= 0 ? format(left) + " left" : format(left) + " overdue";
      element.classList.toggle("overdue", left < 0);
      element.title = new Date(element.getAttribute("datetime")).toLocaleString();
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
})();
