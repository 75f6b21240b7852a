// The response-rate dashboard: fetches its figures as JSON every 30 seconds and updates the
// table in place. A timed page refresh would do the same but fails WCAG 2.2.1 and sends a
// screen reader back to the top each time. Only a short summary is announced, and only when a
// figure has changed; a button pauses the updates (WCAG 2.2.2). Without script, the page's
// Refresh link does it by hand. Each figure is written as templates/staff/response_rates.html
// writes it: keep the two in step.
const dashboard = document.querySelector("[data-response-rates]");

const clock = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
const day = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  day: "numeric",
  month: "long",
  year: "numeric",
});

function ukTime(moment) {
  return `${clock.format(moment)} on ${day.format(moment)}`;
}

function countText(count) {
  return count.toLocaleString("en-GB");
}

function answeredText(row, minN) {
  if (row.withheld === "secondary") return "withheld";
  if (row.withheld) return `fewer than ${minN}`;
  return countText(row.answered);
}

function rateText(row) {
  if (row.withheld) return "withheld";
  if (row.rate === null) return "none invited";
  return `${Math.floor(row.rate * 100 + 0.5)}%`;
}

function responsesText(figures) {
  if (figures.responses_withheld === "fewer-than-k") {
    return `fewer than ${figures.suppression_min_n}`;
  }
  if (figures.responses_withheld) return "withheld";
  return countText(figures.responses);
}

function cell(text) {
  const td = document.createElement("td");
  td.className = "nhsuk-table__cell app-table-numeric";
  td.textContent = text;
  return td;
}

function rowElement(row, minN) {
  const tr = document.createElement("tr");
  tr.className = "nhsuk-table__row";
  const header = document.createElement("th");
  header.scope = "row";
  header.className = "nhsuk-table__cell app-row-header";
  header.append(row.name);
  if (row.code) {
    const code = document.createElement("span");
    code.className = "nhsuk-body-s";
    code.textContent = `(${row.code})`;
    header.append(" ", code);
  }
  tr.append(
    header,
    cell(countText(row.invited)),
    cell(answeredText(row, minN)),
    cell(rateText(row)),
  );
  return tr;
}

function figuresShown(root) {
  // What a reader sees of the figures, cell by cell; the time of the figures is left out, as
  // it moves on every fetch.
  const cells = root.querySelectorAll(
    "[data-rates-table] th, [data-rates-table] td, [data-rates-responses]",
  );
  return Array.from(cells, (found) => found.textContent.replace(/\s+/g, " ").trim()).join("|");
}

function start(root) {
  const url = root.dataset.ratesUrl;
  const everyMs = Number(root.dataset.ratesEvery) * 1000;
  const minN = Number(root.dataset.ratesMinN);
  const asOf = root.querySelector("[data-rates-as-of]");
  const announce = root.querySelector("[data-rates-announce]");
  const pause = root.querySelector("[data-rates-pause]");
  const autoText = root.querySelector("[data-rates-auto-text]");
  const autoNote = autoText.textContent;
  let paused = false;
  let failing = false;
  let timer = null;

  function show(data) {
    const before = figuresShown(root);
    const moment = new Date(data.as_of);
    asOf.dateTime = data.as_of;
    asOf.textContent = ukTime(moment);
    root.querySelector("[data-rates-rows]").replaceChildren(
      ...data.organisations.map((row) => rowElement(row, minN)),
    );
    const total = (name) => root.querySelector(`[data-rates-total="${name}"]`);
    total("invited").textContent = countText(data.total.invited);
    total("answered").textContent = answeredText(data.total, minN);
    total("rate").textContent = rateText(data.total);
    root.querySelector("[data-rates-table]").hidden = data.organisations.length === 0;
    root.querySelector("[data-rates-empty]").hidden = data.organisations.length > 0;
    root.querySelector("[data-rates-responses]").textContent = responsesText(data);
    root.querySelector("[data-rates-responses-note]").hidden =
      data.responses_withheld !== "open-link-fewer-than-k";
    if (figuresShown(root) !== before) {
      announce.textContent =
        `Figures updated at ${clock.format(moment)}: ${answeredText(data.total, minN)} of ` +
        `${countText(data.total.invited)} invitations answered.`;
    }
  }

  async function update() {
    timer = null;
    if (paused) return;
    if (!document.hidden) {
      try {
        const response = await fetch(url, {
          cache: "no-store",
          headers: { Accept: "application/json" },
        });
        if (response.status === 401) {
          announce.textContent =
            "You have been signed out, so the figures no longer update. " +
            "Refresh the page to sign in again.";
          stop();
          return;
        }
        if (!response.ok) throw new Error(`status ${response.status}`);
        show(await response.json());
        failing = false;
      } catch {
        if (!failing) {
          // Said once, not at every failed attempt.
          announce.textContent =
            "The figures could not be updated just now. The page will try again.";
        }
        failing = true;
      }
    }
    if (!paused) schedule();
  }

  function schedule() {
    // One timer at most, even when a fetch sent before a pause ends after the resume.
    window.clearTimeout(timer);
    timer = window.setTimeout(update, everyMs);
  }

  function stop() {
    paused = true;
    window.clearTimeout(timer);
    root.querySelector("[data-rates-auto]").hidden = true;
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume automatic updates" : "Pause automatic updates";
    autoText.textContent = paused ? "Automatic updates are paused." : autoNote;
    if (paused) {
      window.clearTimeout(timer);
      timer = null;
    } else {
      update();
    }
  });

  root.querySelector("[data-rates-auto]").hidden = false;
  schedule();
}

if (dashboard) {
  start(dashboard);
}
