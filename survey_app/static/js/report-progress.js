// The progress page of a report built in the background: checks for the finished report every
// few seconds and shows it in place, where the live region announces it. A timed page refresh
// would do the same but fails WCAG 2.2.1 and sends a screen reader back to the top each time.
const CHECK_EVERY_MS = 3000;
const region = document.querySelector("[data-report-progress]");

async function checkReport() {
  try {
    const response = await fetch(window.location.href, { cache: "no-store" });
    if (response.ok) {
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector("[data-report-progress]");
      if (fresh && fresh.dataset.reportProgress !== "pending") {
        showResult(fresh, page.title);
        return;
      }
    }
  } catch {
    // The server did not answer this time; the next check may succeed.
  }
  window.setTimeout(checkReport, CHECK_EVERY_MS);
}

function showResult(fresh, title) {
  const hadFocus = region.contains(document.activeElement);
  region.replaceChildren(...Array.from(fresh.childNodes));
  region.dataset.reportProgress = fresh.dataset.reportProgress;
  document.title = title;
  if (hadFocus) {
    // The link that had focus is gone: keep keyboard users where the news is.
    const heading = region.querySelector("h1");
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

if (region && region.dataset.reportProgress === "pending") {
  window.setTimeout(checkReport, CHECK_EVERY_MS);
}
