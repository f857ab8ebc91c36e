// Renders a QR payload as an SVG (one path of dark modules), with the vendored qrcode-generator.

const SVG = "http://www.w3.org/2000/svg";
const QUIET_ZONE = 4;

export function qrSvg(payload, label) {
  const code = window.qrcode(0, "M"); // type 0: the smallest version that holds the payload
  code.addData(payload, "Byte");
  code.make();
  const count = code.getModuleCount();
  const size = count + QUIET_ZONE * 2;
  const parts = [];
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) parts.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.classList.add("qr-code");
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", size);
  background.setAttribute("height", size);
  background.setAttribute("fill", "#fff");
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", parts.join(""));
  modules.setAttribute("fill", "#111");
  svg.append(background, modules);
  return svg;
}
