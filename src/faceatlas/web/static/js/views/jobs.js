// Indexing: start an index job on one of the service's folders (its --root folders) and
// follow it live (the job is polled about twice a second); files that could not be read
// are listed. Recent jobs of this run of the service below.

import { api, ApiError } from "../api.js";
import { el, heading, showError, toast } from "../ui.js";
import { announcer, canWrite, owner, readOnlyNote, useStyles } from "./_browse.js";

const POLL_MS = 600;

export async function render(root, params) {
  const alive = owner(root);
  await useStyles();
  if (!alive()) return;
  heading(root, "Index photos",
          el("p", { class: "subtitle" }, "Add new and changed photos of your folders to the library."));
  const say = announcer(root);
  let roots = [];
  try {
    if (await canWrite()) roots = (await api("GET", "/roots")).roots;
    else root.append(readOnlyNote("Indexing"));
  } catch (err) {
    if (!alive()) return;
    if (err instanceof ApiError && err.status === 403) {
      root.append(el("p", { class: "error-box" }, "Indexing needs a key with the write scope."));
    } else {
      showError(root, err);
    }
  }
  if (!alive()) return;
  const panel = el("section", { class: "section job-panel", "aria-label": "Current job" });
  const recent = el("section", { class: "section" }, el("h2", {}, "Recent jobs"));
  const recentList = el("ul", { class: "job-list", role: "list" });
  recent.append(recentList);

  if (roots.length) {
    const select = el("select", { id: "index-root", "data-testid": "index-root" },
      roots.length > 1 ? el("option", { value: "" }, "Every folder") : null,
      roots.map((r) => el("option", { value: r }, r)));
    const album = el("input", { id: "index-album", type: "text", placeholder: "From the folder names",
                                autocomplete: "off" });
    const start = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "start-index" },
                     "Start indexing");
    const form = el("form", { class: "index-form section", "on:submit": async (event) => {
      event.preventDefault();
      start.disabled = true;
      try {
        const body = { paths: select.value ? [select.value] : [] };
        if (album.value.trim()) body.album = album.value.trim();
        const job = await api("POST", "/index", body);
        say("Indexing started.");
        history.replaceState(null, "", `#/index?job=${job.id}`);
        follow(job.id);
      } catch (err) {
        toast(err.message, "error");
      } finally {
        start.disabled = false;
      }
    } },
      el("h2", {}, "New index job"),
      el("div", { class: "field" }, el("label", { for: "index-root" }, "Folder"), select),
      el("div", { class: "field" }, el("label", { for: "index-album" }, "Album (optional)"), album),
      el("div", { class: "actions" }, start));
    root.append(form);
  } else if (!root.querySelector(".error-box, .read-only-note")) {
    root.append(el("p", { class: "empty" },
      "This service has no folder to index: start it with ",
      el("code", {}, "faceatlas serve --root FOLDER"), "."));
  }
  root.append(panel, recent);
  panel.hidden = true;

  let following = 0;
  async function follow(id) {
    const ticket = ++following;
    panel.hidden = false;
    const view = jobView(panel);
    let last = null;
    for (;;) {
      if (!panel.isConnected || ticket !== following) return;
      let job;
      try {
        job = await api("GET", `/jobs/${encodeURIComponent(id)}`);
      } catch (err) {
        panel.replaceChildren();
        showError(panel, err);
        return;
      }
      view(job);
      if (job.state !== last && (job.state === "done" || job.state === "failed")) {
        say(job.state === "done" ? "Indexing finished." : `Indexing failed: ${job.error && job.error.message}`);
        await listJobs(recentList, follow);
        return;
      }
      last = job.state;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  await listJobs(recentList, follow);
  if (params.job) follow(params.job);
}

function jobView(panel) {
  const title = el("h2", {}, "Indexing");
  const bar = el("progress", { "data-testid": "job-progress", max: 1, value: 0,
                               "aria-label": "Indexing progress" });
  const text = el("p", { class: "job-text", "data-testid": "job-state" });
  const summary = el("div", { class: "job-summary" });
  panel.replaceChildren(title, bar, text, summary);
  return (job) => {
    const { done, total } = job.progress;
    bar.dataset.state = job.state;
    if (total) {
      bar.max = total;
      bar.value = done;
    } else if (job.state === "done") {
      bar.max = 1;
      bar.value = 1;
    } else {
      bar.removeAttribute("value");  // indeterminate while the files are counted
    }
    const files = total ? `${done.toLocaleString()} of ${total.toLocaleString()} files` : "counting files…";
    text.textContent = {
      queued: "Waiting for another job to finish…",
      running: `Indexing: ${files}`,
      done: `Done: ${files}.`,
      failed: `Failed: ${job.error ? job.error.message : "unknown error"}`,
    }[job.state] || job.state;
    text.className = `job-text is-${job.state}`;
    if (job.state === "done" && job.result) summary.replaceChildren(...result(job.result));
    else if (job.state === "failed") summary.replaceChildren();
  };
}

function result(r) {
  const counts = [["New photos", r.new], ["Changed", r.changed], ["Moved", r.moved],
                  ["Unchanged", r.unchanged], ["Faces found", r.faces], ["Errors", r.errors]];
  const out = [el("ul", { class: "counts" },
    counts.filter(([, v]) => v !== undefined).map(([k, v]) => el("li", {}, el("b", {}, String(v)), k)))];
  const errors = r.error_files || [];
  if (errors.length) {
    out.push(el("h3", {}, `${errors.length} ${errors.length === 1 ? "file" : "files"} could not be indexed`),
      el("ul", { class: "job-errors", "data-testid": "job-errors", role: "list" },
         errors.map((e) => el("li", {}, el("code", {}, e.path.split(/[\\/]/).pop()), " ",
                                el("span", { class: "hint" }, e.error), el("div", { class: "path" }, e.path)))));
  }
  const skipped = r.skipped_files || [];
  if (skipped.length) {
    out.push(el("details", {}, el("summary", {}, `${skipped.length} skipped`),
      el("ul", { class: "path-list" }, skipped.map((s) => el("li", {}, `${s.path}: ${s.reason}`)))));
  }
  return out;
}

async function listJobs(list, follow) {
  let jobs;
  try {
    jobs = await api("GET", "/jobs");
  } catch (err) {
    list.replaceChildren(el("li", { class: "hint" }, err.message));
    return;
  }
  if (!jobs.length) {
    list.replaceChildren(el("li", { class: "hint" }, "No job since the service started."));
    return;
  }
  list.replaceChildren(...jobs.slice(-10).reverse().map((j) => {
    const when = new Date(j.created * 1000).toLocaleTimeString();
    const p = j.progress.total ? ` · ${j.progress.done}/${j.progress.total}` : "";
    const errors = j.result && j.result.errors ? ` · ${j.result.errors} ${j.result.errors === 1 ? "error" : "errors"}` : "";
    return el("li", {}, el("button", { type: "button", class: "btn btn-quiet job-link",
      "on:click": () => { history.replaceState(null, "", `#/index?job=${j.id}`); follow(j.id); } },
      `${j.kind} ${when}`), el("span", { class: `job-state is-${j.state}` }, j.state),
      el("span", { class: "hint" }, `${p}${errors}`));
  }));
}
