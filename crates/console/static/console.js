// simforge console: the only script (no inline script anywhere: CSP default-src 'self').
// Pages work without it; it only localizes times and follows a generation job.
"use strict";

function localizeTimes() {
  for (const el of document.querySelectorAll("time[datetime]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.title = el.textContent;
      el.textContent = d.toLocaleString();
    }
  }
}

// Generation jobs (a job's page, the dashboard): poll the API's job (the same session
// cookie) until it ends, then reload the page.
function followJobs() {
  for (const el of document.querySelectorAll("[data-job]")) {
    const bar = el.querySelector("progress");
    const text = el.querySelector("[data-job-text]");
    const tick = async () => {
      try {
        const r = await fetch(el.dataset.job, { credentials: "same-origin" });
        if (!r.ok) return;
        const j = await r.json();
        if (bar) { bar.max = j.total || 1; bar.value = j.done; }
        if (text) text.textContent = j.done + " of " + j.total + " cards (" + j.state + ")";
        if (j.state !== "running") { window.location.reload(); return; }
      } catch (e) { /* try again */ }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 500);
  }
}

document.addEventListener("DOMContentLoaded", () => { localizeTimes(); followJobs(); });
