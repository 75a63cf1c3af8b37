// Keep "2 hours ago" true while the page stays open, and show the exact time in the reader's own time zone on
// hover. The wording matches app/web/display.py, which renders the first version on the server.

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

const exactFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long", year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit",
  timeZoneName: "short",
});

export function relativeTime(date, now = new Date()) {
  const seconds = Math.floor((now.getTime() - date.getTime()) / 1000);
  if (seconds < 60) return "just now";
  for (const [name, size] of UNITS) {
    const count = Math.floor(seconds / size);
    // "1 day ago", never "yesterday": 30 hours ago is two calendar days back some evenings (as display.py says).
    if (count >= 1) return `${count} ${name}${count === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

export function refreshTimes(root = document) {
  const now = new Date();
  for (const element of root.querySelectorAll("time[data-relative]")) {
    const date = new Date(element.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    element.textContent = relativeTime(date, now);
    element.title = exactFormat.format(date);
  }
}

export function keepTimesFresh(root = document) {
  refreshTimes(root);
  window.setInterval(() => refreshTimes(root), 60 * 1000);
}
