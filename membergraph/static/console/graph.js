// The member's link graph: a node per record on a ring, a line per link (a person's dashed),
// each line titled with its rule, actor, time and evidence. The links' table is its text
// alternative.

import { $ } from "./lib.js";

export function drawGraph(records, links) {
  const svg = $("#graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.querySelectorAll("g").forEach((g) => g.remove());
  const group = document.createElementNS(ns, "g");
  const place = new Map();
  // A ring, narrower where the screen is (labels take ~110 px on each side).
  const across = Math.min(150, Math.max(60, ($("#graph-box").clientWidth - 240) / 2));
  records.forEach((r, i) => {
    const angle = (2 * Math.PI * i) / Math.max(records.length, 1) - Math.PI / 2;
    place.set(`${r.source}|${r.key}`, [400 + across * Math.cos(angle), 180 + 130 * Math.sin(angle)]);
  });
  for (const link of links) {
    const a = place.get(`${link.a.source}|${link.a.key}`), b = place.get(`${link.b.source}|${link.b.key}`);
    if (!a || !b) continue;
    const line = document.createElementNS(ns, "line");
    line.setAttribute("x1", a[0]); line.setAttribute("y1", a[1]);
    line.setAttribute("x2", b[0]); line.setAttribute("y2", b[1]);
    if (link.rule === "manual") line.classList.add("manual");
    const title = document.createElementNS(ns, "title");
    title.textContent = `${link.rule} by ${link.actor} at ${link.createdAt}: ${JSON.stringify(link.evidence)}`;
    line.append(title);
    group.append(line);
  }
  for (const [id, [x, y]] of place) {
    const circle = document.createElementNS(ns, "circle");
    circle.setAttribute("cx", x); circle.setAttribute("cy", y); circle.setAttribute("r", 7);
    const label = document.createElementNS(ns, "text");
    const left = x < 400;  // labels point outward, away from the edges
    label.setAttribute("text-anchor", left ? "end" : "start");
    // Two lines, the source above its key: half as wide, so a phone scrolls less.
    const cut = id.indexOf("|");
    [[id.slice(0, cut), y - 2, "source"], [id.slice(cut + 1), y + 10, "key"]].forEach(([words, at, kind]) => {
      const line = document.createElementNS(ns, "tspan");
      line.setAttribute("x", left ? x - 10 : x + 10); line.setAttribute("y", at);
      line.setAttribute("class", kind);
      line.textContent = words;
      label.append(line);
    });
    group.append(circle, label);
  }
  svg.append(group);
  fitGraph(svg, group);
}

// The drawing's own size (labels included) is the SVG's: a box narrower than it scales it
// down on a wide screen, or scrolls it on a phone, where it opens on its middle.
function fitGraph(svg, group) {
  const box = group.getBBox();
  if (!box.width || !box.height) return;  // not laid out (hidden): the default view stays
  const margin = 12;
  const [x, y, w, h] = [box.x - margin, box.y - margin, box.width + 2 * margin, box.height + 2 * margin];
  svg.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
  svg.setAttribute("width", Math.ceil(w)); svg.setAttribute("height", Math.ceil(h));
  const scroller = $("#graph-box");
  scroller.scrollLeft = (scroller.scrollWidth - scroller.clientWidth) / 2;
}
