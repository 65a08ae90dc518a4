// Show server-rendered <time datetime> values in the reader's own time zone.

import { shortTime } from "../ui.js";

for (const node of document.querySelectorAll("time[datetime]")) {
  node.textContent = shortTime(node.getAttribute("datetime"));
}
