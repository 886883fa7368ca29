"use strict";
// The run viewer's page: #/ is the runs list, #/runs/ID one run. Every text from the run
// store is set as text (never as HTML). A live run is polled every second; new timeline
// items are added in time order, and items already shown keep their open/closed state.
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const rendered = new Map(); // timeline item key -> its <li>
  let timer = null;
  let shown = null; // the run on screen
  const drawn = {}; // part of the page -> the JSON it shows (unchanged data is not redrawn)

  function changed(part, data) {
    const text = JSON.stringify(data);
    if (drawn[part] === text) return false;
    drawn[part] = text;
    return true;
  }

  async function api(path) {
    const response = await fetch(path, {
      headers: { Authorization: "Bearer " + token },
      cache: "no-store",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.status + " " + response.statusText);
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === "") continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const money = (x) => "$" + Number(x || 0).toFixed(4);
  const secs = (x) => (x === null || x === undefined ? "" : Number(x).toFixed(1) + " s");
  const clock = (ts) => new Date(ts * 1000).toLocaleTimeString();
  const short = (value, n) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text && text.length > n ? text.slice(0, n) + "…" : text;
  };

  function later(fn, ms) {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  }

  function problem(message) {
    $("status-line").textContent = message || "";
  }

  async function showRuns() {
    shown = null;
    $("run-view").hidden = true;
    $("runs-view").hidden = false;
    document.title = "crewyard runs";
    try {
      const { runs } = await api("/api/runs?limit=100");
      if (shown === null && changed("runs", runs)) drawRuns(runs);
      problem("");
    } catch (error) {
      problem(error.message);
    }
    if (shown === null) later(showRuns, 2000);
  }

  function drawRuns(runs) {
    const body = $("runs").tBodies[0];
    body.replaceChildren(
      ...runs.map((r) =>
        el(
          "tr",
          { "data-run": r.id, class: "status-" + r.status },
          el("td", {}, el("a", { href: "#/runs/" + encodeURIComponent(r.id) }, r.id)),
          el("td", {}, r.crew),
          el("td", {}, r.engine || ""),
          el("td", { class: "status" }, r.status),
          el("td", { class: "num" }, secs(r.duration_s)),
          el("td", { class: "num" }, r.total_tokens),
          el("td", { class: "num" }, money(r.cost_usd)),
        ),
      ),
    );
    $("no-runs").hidden = runs.length > 0;
  }

  async function showRun(id) {
    if (shown !== id) {
      shown = id;
      rendered.clear();
      for (const part of ["head", "tasks", "answer"]) delete drawn[part];
      $("timeline").replaceChildren();
    }
    $("runs-view").hidden = true;
    $("run-view").hidden = false;
    let data;
    try {
      data = await api("/api/runs/" + encodeURIComponent(id));
    } catch (error) {
      problem(error.message);
      if (shown === id) later(() => showRun(id), 2000);
      return;
    }
    if (shown !== id) return;
    document.title = data.run.crew + " · " + data.run.id;
    if (changed("head", data.run)) head(data.run);
    if (changed("answer", data.answer)) answerPlace(data.answer, data.run.id);
    if (changed("tasks", data.tasks)) tasks(data.tasks);
    timeline(data.items);
    problem("");
    $("run-view").dataset.status = data.run.status;
    if (data.run.live) later(() => showRun(id), 1000);
  }

  function head(run) {
    const facts = el(
      "p",
      { class: "facts" },
      el("span", { id: "run-status", class: "status state-" + run.status }, run.status),
      el("span", {}, "engine " + (run.engine || "?")),
      el("span", {}, secs(run.duration_s)),
      el("span", {}, run.total_tokens + " tokens in " + run.calls + " calls"),
      el("span", { id: "run-cost" }, money(run.cost_usd)),
      run.replay_of ? el("span", {}, "replay of " + run.replay_of) : null,
    );
    const parts = [
      el("h1", {}, run.crew + " · run " + run.id),
      facts,
      el("p", {}, "inputs: ", el("code", {}, JSON.stringify(run.inputs))),
      run.error ? el("p", { class: "error" }, "error: " + run.error) : null,
      run.output ? details("output", run.output, false) : null,
    ];
    $("run-head").replaceChildren(...parts.filter(Boolean));
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.status + " " + response.statusText);
    return data;
  }

  // A run waiting for input: its question, and a form that answers it (the run then resumes
  // as a new run, whose id the page shows).
  function answerPlace(answer, runId) {
    const place = $("answer");
    place.hidden = !(answer && answer.waiting);
    if (place.hidden) return;
    const pending = answer.questions || [];
    const asked = pending.map((q) =>
      el(
        "div",
        { class: "question" },
        el("p", {}, [q.task, q.agent].filter(Boolean).join(" · ") + " asks:"),
        el("pre", {}, q.prompt),
        q.context ? details("about", q.context, false) : null,
        q.default_answer !== null ? el("p", {}, "default answer: " + JSON.stringify(q.default_answer)) : null,
        q.deadline ? el("p", {}, "deadline: " + new Date(q.deadline * 1000).toLocaleString()) : null,
      ),
    );
    const text = el("textarea", { id: "answer-text", rows: "3", cols: "60" });
    const said = el("p", { id: "answer-said" });
    const send = async (body) => {
      said.textContent = "sending…";
      try {
        const done = await post("/api/runs/" + encodeURIComponent(runId) + "/answer", body);
        said.textContent = "answered; the run goes on as a new run (see the runs list)";
        said.dataset.answered = done.answered;
      } catch (error) {
        said.textContent = "not answered: " + error.message;
      }
    };
    const answerButton = el("button", { id: "answer-send", type: "button" }, "Answer");
    answerButton.addEventListener("click", () => send({ text: text.value }));
    const parts = [el("strong", {}, "This run is waiting for input."), ...asked, text, answerButton];
    if (pending.some((q) => q.default_answer !== null)) {
      const byDefault = el("button", { id: "answer-default", type: "button" }, "Take the default");
      byDefault.addEventListener("click", () => send({ default: true }));
      parts.push(byDefault);
    }
    parts.push(said, el("p", {}, "or from a shell: ", el("code", {}, answer.hint)));
    place.replaceChildren(...parts);
  }

  function tasks(list) {
    $("tasks").tBodies[0].replaceChildren(
      ...list.map((t) =>
        el(
          "tr",
          { "data-task": t.name },
          el("td", {}, t.name),
          el("td", {}, t.agent || ""),
          el("td", { class: "state state-" + t.state }, t.state),
          el("td", { class: "num" }, t.model_calls),
          el("td", { class: "num" }, t.failed_attempts),
          el("td", { class: "num" }, t.guardrail_retries),
          el("td", { class: "num" }, t.tool_calls),
          el("td", { class: "num" }, t.turns),
          el("td", { class: "num" }, t.tokens),
          el("td", { class: "num" }, money(t.cost_usd)),
        ),
      ),
    );
  }

  function details(label, text, open) {
    const node = el("details", {}, el("summary", {}, label), el("pre", {}, text));
    node.open = open;
    return node;
  }

  function summary(item) {
    const d = item.data || {};
    switch (item.kind) {
      case "model_call": {
        let line = `${d.alias} (${d.model}) · ${d.prompt_tokens}+${d.completion_tokens} tokens`;
        line += ` · ${money(d.cost_usd)} · ${Math.round(d.latency_ms || 0)} ms`;
        if (d.attempt > 1) line += ` · attempt ${d.attempt}`;
        if (d.cached) line += d.replayed ? " · replayed" : " · cached";
        if (d.fallback_from) line += ` · fell back from ${d.fallback_from}`;
        if (d.error) line += ` · failed: ${d.error}`;
        if (d.note) line += ` · ${d.note}`;
        return line;
      }
      case "tool_call": {
        let line = `${d.tool}(${short(d.args || {}, 200)})`;
        if (d.duration_ms !== undefined) line += ` · ${d.duration_ms} ms`;
        if (d.failed) line += " · failed";
        if (d.skipped) line += " · skipped (switched off)";
        if (d.bad_args) line += " · bad arguments";
        return line;
      }
      case "guardrail_failed":
        return `attempt ${d.attempt}: ` + (d.reasons || []).join("; ");
      case "turn":
        return "said";
      case "run_finished":
        return `${d.status} in ${d.duration_s} s`;
      default:
        return Object.keys(d).length ? short(d, 300) : "";
    }
  }

  const LABELS = { model_call: "reply", tool_call: "result", task_finished: "output" };
  const label = (item) => LABELS[item.kind] || "text";

  function itemNode(item) {
    const failed = (item.data && (item.data.error || item.data.failed)) ? " failed" : "";
    const node = el(
      "li",
      { class: "kind-" + item.kind + failed, "data-key": item.key, "data-kind": item.kind },
      el("span", { class: "when" }, clock(item.ts)),
      el("span", { class: "kind" }, item.kind.replaceAll("_", " ")),
      el("span", { class: "who" }, [item.task, item.agent].filter(Boolean).join(" · ")),
      el("span", { class: "what" }, summary(item)),
    );
    node.dataset.ts = item.ts;
    if (item.text) node.append(details(label(item), item.text, item.text.length < 800));
    return node;
  }

  function timeline(items) {
    const list = $("timeline");
    for (const item of items) {
      const old = rendered.get(item.key);
      if (old) {
        const pre = old.querySelector("pre");
        if (item.text && !pre) old.append(details(label(item), item.text, item.text.length < 800));
        else if (pre && pre.textContent !== item.text) pre.textContent = item.text || "";
        continue;
      }
      const node = itemNode(item);
      rendered.set(item.key, node);
      const after = [...list.children].find((li) => Number(li.dataset.ts) > item.ts);
      list.insertBefore(node, after || null);
    }
  }

  function route() {
    clearTimeout(timer);
    const match = location.hash.match(/^#\/runs\/(.+)$/);
    if (match) showRun(decodeURIComponent(match[1]));
    else showRuns();
  }

  window.addEventListener("hashchange", route);
  route();
})();
