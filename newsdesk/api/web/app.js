// Newsdesk's chat page. Plain JavaScript, no build step, no library. Text from the API (questions, answers,
// articles) only ever enters the page as text nodes: never through innerHTML, so an article holding <script>
// stays words on the screen.
"use strict";

(function () {
  const MAX_HISTORY = 3; // earlier questions sent with a follow-up (the API takes at most this many)
  const TIMEOUT_MS = 60000;
  const TOKEN_KEY = "newsdesk-token";
  const base = new URL(".", window.location.href); // the page's folder: works under an API Gateway stage prefix
  const state = { earlier: [], turns: 0, articles: new Map(), opener: null, busy: false, example: null, empty: false };
  const $ = (id) => document.getElementById(id);
  // Why a generated answer fell back to quoting (the `fallback` codes of the JSON), in a reader's words.
  const FALLBACK_REASONS = {
    throttled: "the writing service is busy right now",
    timeout: "the writing service took too long",
    unavailable: "the writing service is unavailable",
    access_denied: "this deployment may not use the writing service",
    malformed_reply: "the writing service replied with something unusable",
    unsupported_reply: "none of what it wrote was supported by the sources",
    no_verified_sources: "no source sentence could be verified for it",
    bedrock_error: "the writing service failed",
  };

  // -- small helpers -------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function formatDay(iso) {
    if (!iso) return "undated";
    const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
    if (!day) return iso;
    const date = new Date(Date.UTC(+day[1], +day[2] - 1, +day[3]));
    return date.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  }

  function byline(outlet, published) {
    return [outlet || "Unknown outlet", formatDay(published)].join(" · ");
  }

  function hostOf(url) {
    try { return new URL(url).host; } catch (e) { return url; }
  }

  function safeLink(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) { return null; }
  }

  // -- talking to the API -----------------------------------------------------------------------------
  function token() {
    // A sign-in page (Cognito's hosted UI) hands the token back in the fragment: keep it for this tab only.
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const given = fragment.get("id_token") || fragment.get("access_token");
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function call(path, options) {
    const headers = { accept: "application/json" };
    const bearer = token();
    if (bearer) headers.authorization = "Bearer " + bearer;
    if (options && options.body) headers["content-type"] = "application/json";
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    try {
      response = await fetch(new URL(path, base), { ...(options || {}), headers, signal: controller.signal });
    } catch (e) {
      throw new ApiError(controller.signal.aborted
        ? "Newsdesk took too long to answer. Try again, or ask a shorter question."
        : "Cannot reach Newsdesk. Check your connection (or that the server is running) and try again.", 0);
    } finally {
      clearTimeout(timer);
    }
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) throw new ApiError(explain(response.status, body), response.status);
    return body;
  }

  function explain(status, body) {
    const detail = body && body.error && body.error.message ? body.error.message
      : body && body.message ? body.message : "";
    if (status === 400) return "Newsdesk could not take that request: " + (detail || "check the question and filters") + ".";
    if (status === 401 || status === 403) {
      return "This Newsdesk needs you to sign in. Open the page from your organisation's sign-in link, then ask again.";
    }
    if (status === 404) return "Not found: " + (detail || "the item is gone") + ".";
    if (status === 413) return "That request is too large: ask a shorter question.";
    if (status === 429) return "Too many questions at once. Wait a few seconds, then ask again.";
    if (status >= 500) {
      return "Newsdesk had a problem on its side (error " + status + "). Try again in a moment." +
        (detail ? " Details: " + detail : "");
    }
    return "Unexpected reply from Newsdesk (error " + status + ")." + (detail ? " " + detail : "");
  }

  // -- status, errors, spinner --------------------------------------------------------------------
  // The message box sits at the top of the question box, which stays on screen: a message is seen where the eye
  // is, however long the conversation above it.
  function showError(message) {
    showMessage(el("strong", { text: "Something went wrong. " }), message);
    $("error").classList.remove("notice");
  }

  function showNotice(message) {
    showMessage(message);
    $("error").classList.add("notice");
  }

  function showMessage(...parts) {
    const box = $("error");
    clear(box);
    box.append(...parts);
    box.hidden = false;
  }

  function hideError() {
    $("error").hidden = true;
  }

  function setBusy(busy) {
    state.busy = busy;
    const status = $("status");
    clear(status);
    if (busy) status.append(el("span", { class: "spinner", "aria-hidden": "true" }), "Searching the archive…");
    $("send").disabled = busy;
    $("send").setAttribute("aria-busy", busy ? "true" : "false");
  }

  // -- filters --------------------------------------------------------------------------------------
  async function loadOutlets() {
    try {
      const body = await call("outlets");
      const select = $("outlet");
      for (const outlet of body.outlets) {
        select.append(el("option", { value: outlet.name }, outlet.name + " (" + outlet.articles + ")"));
      }
    } catch (e) {
      if (e.status === 401 || e.status === 403) showError(e.message);
      // otherwise the outlet list simply stays short; questions still work
    }
  }

  // An example question from this archive (its newest story's headline), never one about articles it lacks.
  async function loadExample() {
    try {
      const body = await call("articles?per_page=1");
      const newest = body.articles.length ? body.articles[0] : null;
      state.example = newest && newest.title ? exampleFor(newest.title) : null;
      state.empty = body.total === 0;
    } catch (e) {
      return; // the generic placeholder stays; a sign-in problem is reported by loadOutlets
    }
    if (state.example) $("question").placeholder = "For example: " + state.example;
  }

  function exampleFor(title) {
    let words = title.replace(/\s+/g, " ").trim();
    if (words.length > 90) words = words.slice(0, 90).replace(/\s+\S*$/, "") + "…";
    return "What is reported about “" + words + "”?";
  }

  function filters() {
    const chosen = {};
    if ($("outlet").value) chosen.outlet = $("outlet").value;
    if ($("after").value) chosen.published_after = $("after").value;
    if ($("before").value) chosen.published_before = $("before").value;
    return Object.keys(chosen).length ? chosen : null;
  }

  function showFilters() {
    const described = describeFilters(filters());
    $("filter-summary").textContent = described ? described.replace(/^Only articles /, "") : "all articles";
  }

  function describeFilters(chosen) {
    if (!chosen) return null;
    const parts = [];
    if (chosen.outlet) parts.push("from " + chosen.outlet);
    if (chosen.published_after) parts.push("on or after " + formatDay(chosen.published_after));
    if (chosen.published_before) parts.push("on or before " + formatDay(chosen.published_before));
    return "Only articles " + parts.join(", ");
  }

  // -- asking ---------------------------------------------------------------------------------------
  async function ask(event) {
    event.preventDefault();
    if (state.busy) return;
    const question = $("question").value.trim();
    if (!question) {
      showNotice(state.example ? "Type a question first, for example: " + state.example
        : state.empty ? "Type a question first. (This archive has no articles yet, so nothing can be answered.)"
          : "Type a question about the news in this archive first.");
      $("question").focus();
      return;
    }
    hideError();
    const chosen = filters();
    const request = { question };
    if (chosen) request.filters = chosen;
    if (state.earlier.length) request.history = state.earlier.slice(-MAX_HISTORY);
    setBusy(true);
    try {
      const answer = await call("chat", { method: "POST", body: JSON.stringify(request) });
      state.earlier.push(question);
      const turn = renderTurn(question, answer, chosen, request.history || []);
      $("question").value = "";
      turn.querySelector(".answer").focus({ preventScroll: true });
      turn.scrollIntoView({ block: "nearest", behavior: "smooth" });
    } catch (e) {
      showError(e.message);
      $("question").focus();
    } finally {
      setBusy(false);
    }
  }

  function renderTurn(question, answer, chosen, history) {
    state.turns += 1;
    const number = state.turns;
    const citations = new Map((answer.citations || []).map((c) => [c.n, c]));
    const body = el("article", { class: "answer" + (answer.abstained ? " abstained" : ""), tabindex: "-1",
                                 "aria-label": "Answer " + number });
    const turn = el("li", { class: "turn", "data-turn": number },
      el("div", { class: "question" },
        el("p", { class: "who", text: history.length ? "Follow-up question" : "Question" }),
        el("p", { class: "question-text", text: question }),
        // A follow-up as the API took it, with the subject the conversation filled in: checkable at a glance.
        answer.resolved_question ? el("p", { class: "resolved-question", text: "Taken as: " + answer.resolved_question })
          : null,
        chosen ? el("p", { class: "filters-used", text: describeFilters(chosen) }) : null),
      body);
    if (answer.abstained) {
      body.append(
        el("p", { class: "abstain-title", text: "The reporting here does not answer that." }),
        el("p", { class: "abstain-text", text: answer.answer }));
    } else {
      body.append(el("p", { class: "answer-text" }, withMarkers(answer.answer, citations, number)));
      if (answer.conflict && answer.claims && answer.claims.length) body.append(conflictBox(answer, citations, number));
      body.append(...verification(answer));
      const left = leftOut(answer);
      if (left) body.append(left);
      body.append(sourceList(answer, number));
    }
    body.append(el("p", { class: "answer-meta", text: answerMeta(answer) }));
    turn._citations = citations;
    $("turns").append(turn);
    return turn;
  }

  function withMarkers(text, citations, turn) {
    // "[n]" markers become buttons that open the source; everything else stays text.
    const out = [];
    const marker = /\[(\d+)\]/g;
    let last = 0;
    let match;
    while ((match = marker.exec(text)) !== null) {
      const citation = citations.get(Number(match[1]));
      if (!citation) continue;
      out.push(text.slice(last, match.index));
      out.push(citeButton(citation, turn));
      last = marker.lastIndex;
    }
    out.push(text.slice(last));
    return out;
  }

  function citeButton(citation, turn) {
    return el("button", {
      type: "button", class: "cite", "data-n": citation.n, "data-turn": turn,
      "aria-label": "Source " + citation.n + ": " + (citation.title || citation.article_id) + ", " +
        byline(citation.outlet, citation.published_at),
      onclick: (e) => openCitation(turn, citation.n, e.currentTarget),
    }, String(citation.n));
  }

  function verification(answer) {
    const notes = [];
    if (answer.answerer === "bedrock") {
      notes.push(el("p", { class: "verified-note" },
        el("span", { class: "badge ok", text: "Verified" }),
        " Written by Bedrock from the sources. Each sentence is kept only because the numbered quotes below " +
        "support it, and each quote was found word for word in its article."));
    }
    if (answer.fallback) {
      const why = FALLBACK_REASONS[answer.fallback] || "the writing service failed";
      notes.push(el("p", { class: "note", text: "The generated answer was not available (" + why +
        "), so this answer quotes the sources directly." }));
    }
    return notes;
  }

  // The answer text already says how many generated statements were left out; this says which, and why, for a
  // reader who asks (collapsed: they are not the answer).
  function leftOut(answer) {
    const dropped = answer.dropped_statements && answer.dropped_statements.length ? answer.dropped_statements
      : (answer.unsupported || []).map((statement) => ({ statement, reasons: [] }));
    if (!dropped.length) return null;
    return el("details", { class: "left-out" },
      el("summary", { text: "Statements left out, and why" }),
      el("ul", { class: "left-out-list" }, dropped.map((d) => el("li", { class: "left-out-item" },
        el("p", { class: "left-out-statement", text: "“" + d.statement + "”" }),
        (d.reasons || []).length ? el("p", { class: "left-out-why", text: "Why: " +
          d.reasons.map((r) => r.detail || r.reason.replace(/_/g, " ")).join("; ") + "." }) : null))));
  }

  function conflictBox(answer, citations, turn) {
    const box = el("div", { class: "conflict", role: "note" },
      el("p", { class: "conflict-title", text: "Conflicting figures" }),
      answer.conflict_note ? el("p", {}, withMarkers(answer.conflict_note, citations, turn)) : null);
    const several = answer.claims.length > 1;
    for (const group of answer.claims) {
      const rows = group.claims.map((claim) => el("tr", {},
        el("td", { text: claim.value }),
        el("td", { text: claim.outlet || "Unknown outlet" }),
        el("td", { text: formatDay(claim.published_at) }),
        el("td", {}, citations.has(claim.n) ? citeButton(citations.get(claim.n), turn) : String(claim.n))));
      box.append(el("table", { class: "claims" },
        el("caption", { text: several ? "Figures for “" + group.about + "”, newest report first"
                                       : "Each report's figure, newest first" }),
        el("thead", {}, el("tr", {}, ["Figure", "Outlet", "Published", "Source"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows)));
    }
    return box;
  }

  function sourceList(answer, turn) {
    // One entry per article, with the numbers of all its quotes: the article opens with each of them marked.
    const quoted = answer.answerer !== "extractive"; // an extractive answer is the quotes themselves
    const byArticle = new Map();
    for (const c of answer.citations || []) {
      if (!byArticle.has(c.article_id)) byArticle.set(c.article_id, []);
      byArticle.get(c.article_id).push(c);
    }
    const items = [...byArticle.values()].map((cited) => {
      const first = cited[0];
      const numbers = cited.map((c) => String(c.n));
      return el("li", { class: "source" },
        el("button", { type: "button", class: "source-button", "data-n": first.n, "data-turn": turn,
                       onclick: (e) => openCitation(turn, first.n, e.currentTarget) },
          el("span", { class: "source-ns", "aria-hidden": "true" },
            numbers.map((n) => el("span", { class: "source-n", text: n }))),
          el("span", { class: "visually-hidden", text: (numbers.length > 1 ? "Sources " : "Source ") +
                                                       numbers.join(", ") + ": " }),
          el("span", { class: "source-title", text: first.title || first.article_id }),
          el("span", { class: "source-meta", text: byline(first.outlet, first.published_at) })),
        quoted ? cited.map((c) => el("blockquote", { class: "quote", "data-n": c.n, text: c.sentence })) : null);
    });
    return el("div", { class: "sources" },
      el("h3", { text: "Sources" }),
      el("ol", { class: "source-list" }, items));
  }

  function answerMeta(answer) {
    const total = answer.timing_ms && answer.timing_ms.total;
    const parts = [answer.abstained ? "Archive searched" : answer.answerer === "bedrock" ? "Answer by Bedrock, verified"
      : "Quoted answer"];
    if (typeof total === "number") parts.push((total / 1000).toFixed(total < 1000 ? 2 : 1) + " s");
    return parts.join(" · ");
  }

  // -- the article beside the answer --------------------------------------------------------------
  async function openCitation(turnNumber, n, opener) {
    const turn = document.querySelector('.turn[data-turn="' + turnNumber + '"]');
    const citation = turn && turn._citations.get(n);
    if (!citation) return;
    state.opener = opener;
    document.querySelectorAll(".cite.active, .source-button.active").forEach((b) => b.classList.remove("active"));
    turn.querySelectorAll('[data-n="' + n + '"]').forEach((b) => b.classList.add("active"));
    hideError();
    let article = state.articles.get(citation.article_id);
    if (!article) {
      try {
        article = await call("articles/" + encodeURIComponent(citation.article_id));
      } catch (e) {
        showError(e.message);
        return;
      }
      state.articles.set(citation.article_id, article);
    }
    const sameArticle = [...turn._citations.values()].filter((c) => c.article_id === citation.article_id);
    renderArticle(article, citation, sameArticle);
  }

  function locate(text, citation) {
    // The quote at its offsets; if the article changed since the answer, wherever the quote now is.
    if (text.slice(citation.start, citation.end) === citation.sentence) return [citation.start, citation.end];
    const at = text.indexOf(citation.sentence);
    return at >= 0 ? [at, at + citation.sentence.length] : null;
  }

  function renderArticle(article, current, sameArticle) {
    const panel = $("article");
    $("article-kicker").textContent = "Source " + current.n;
    $("article-title").textContent = article.title || article.id;
    $("article-meta").textContent = byline(article.outlet, article.published_at);
    const link = $("article-link");
    clear(link);
    const href = article.url && safeLink(article.url);
    if (href) {
      link.append(el("a", { href, target: "_blank", rel: "noopener noreferrer" },
        "Read the original at " + hostOf(href), el("span", { class: "visually-hidden", text: " (opens a new tab)" })));
    } else {
      link.append("No link to the original was given for this article.");
    }
    const spans = [];
    for (const c of sameArticle) {
      const at = locate(article.text, c);
      if (at && !spans.some((s) => s.start === at[0])) spans.push({ start: at[0], end: at[1], n: c.n, current: c.n === current.n });
    }
    spans.sort((a, b) => a.start - b.start);
    const note = $("article-note");
    note.hidden = spans.some((s) => s.current);
    note.textContent = note.hidden ? "" : "This article has changed since the answer: the quote is no longer in it.";
    const body = $("article-text");
    clear(body);
    const headings = markdownHeadings(article.text, article.title);
    const text = (from, to) => styled(article.text, from, to, headings);
    let cursor = 0;
    let target = null;
    for (const span of spans) {
      if (span.start < cursor) continue; // overlapping quotes: the first one is marked
      body.append(...text(cursor, span.start));
      const mark = el("mark", {
        class: span.current ? "cited current" : "cited",
        "data-n": span.n,
        title: span.current ? "Quoted as source " + span.n : "Also quoted, as source " + span.n,
      }, text(span.start, span.end));
      if (span.current) { mark.id = "cited-sentence"; mark.setAttribute("tabindex", "-1"); target = mark; }
      body.append(mark);
      cursor = span.end;
    }
    body.append(...text(cursor, article.text.length));
    panel.hidden = false;
    document.body.classList.add("reading");
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
    } else {
      body.scrollTop = 0;
      $("article-title").focus();
    }
  }

  // Markdown headings ("## Background") read as headings: their "#" marks are hidden, and a first heading that
  // repeats the title above is hidden whole. Hidden text stays in the page (display: none), so every character
  // keeps its offset and the quotes' marks stay exact.
  function markdownHeadings(text, title) {
    const parts = [];
    const heading = /^(#{1,6}[ \t]+)(.*)$/gm;
    const plain = (s) => s.replace(/\s+/g, " ").trim().toLowerCase();
    let match;
    while ((match = heading.exec(text)) !== null) {
      const start = match.index;
      const words = start + match[1].length;
      const end = start + match[0].length;
      if (!parts.length && !text.slice(0, start).trim() && title && plain(match[2]) === plain(title)) {
        const after = /^[\r\n]*/.exec(text.slice(end))[0].length; // and the blank lines under it
        parts.push({ start, end: end + after, kind: "md-hidden" });
      } else {
        parts.push({ start, end: words, kind: "md-hidden" }, { start: words, end, kind: "md-heading" });
      }
    }
    return parts;
  }

  function styled(text, from, to, parts) {
    // text[from:to] as nodes: plain text, with the heading parts that overlap it in their spans.
    const out = [];
    let cursor = from;
    for (const part of parts) {
      if (part.end <= cursor || part.start >= to) continue;
      if (part.start > cursor) out.push(document.createTextNode(text.slice(cursor, part.start)));
      const end = Math.min(part.end, to);
      out.push(el("span", { class: part.kind, "aria-hidden": part.kind === "md-hidden" ? "true" : null },
        text.slice(Math.max(part.start, cursor), end)));
      cursor = end;
    }
    if (cursor < to) out.push(document.createTextNode(text.slice(cursor, to)));
    return out;
  }

  function closeArticle() {
    $("article").hidden = true;
    document.body.classList.remove("reading");
    if (state.opener && document.contains(state.opener)) state.opener.focus();
  }

  // -- wiring ---------------------------------------------------------------------------------------
  function newConversation() {
    state.earlier = [];
    clear($("turns"));
    closeArticle();
    hideError();
    $("question").focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    token();
    $("ask").addEventListener("submit", ask);
    $("question").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("ask").requestSubmit();
      }
    });
    $("close-article").addEventListener("click", closeArticle);
    $("new-conversation").addEventListener("click", newConversation);
    $("clear-filters").addEventListener("click", () => {
      $("outlet").value = ""; $("after").value = ""; $("before").value = "";
      showFilters();
    });
    for (const id of ["outlet", "after", "before"]) $(id).addEventListener("change", showFilters);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !$("article").hidden) closeArticle();
    });
    loadOutlets();
    loadExample();
    $("question").focus();
  });
})();
