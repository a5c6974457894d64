// tocsin: the warning editor's live sanitisation check. Optional: without
// it the draft form's "Check" button does the same by a plain form post.
// As the text changes (after a pause), it asks the API's check endpoint
// (the session cookie, the session's CSRF token in X-CSRF-Token) and marks
// each finding in a copy of the text. Writes nothing; builds no HTML from
// strings (text nodes only).
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  var text = document.getElementById("draft-text");
  var out = document.getElementById("live-check");
  if (!form || !text || !out || !window.fetch || !window.TextEncoder) return;
  var url = form.getAttribute("data-check");
  var csrf = form.querySelector("input[name=csrf]");
  var enc = new TextEncoder();
  var dec = new TextDecoder();
  var timer = null;
  var seq = 0;

  // Findings are byte spans of the UTF-8 text.
  function show(value, findings) {
    var bytes = enc.encode(value);
    var at = 0;
    var q = document.createElement("blockquote");
    q.className = "text";
    q.id = "live-findings";
    findings.sort(function (a, b) { return a.start - b.start; });
    findings.forEach(function (f) {
      if (f.start < at || f.end <= f.start || f.end > bytes.length) return;
      q.appendChild(document.createTextNode(dec.decode(bytes.slice(at, f.start))));
      var m = document.createElement("mark");
      m.title = String(f.category).replace(/_/g, " ");
      m.textContent = dec.decode(bytes.slice(f.start, f.end));
      q.appendChild(m);
      at = f.end;
    });
    q.appendChild(document.createTextNode(dec.decode(bytes.slice(at))));
    var p = document.createElement("p");
    p.id = "live-summary";
    p.textContent = findings.length
      ? "Checked as you type: " + findings.length + " thing(s) would reveal protected information (marked)."
      : "Checked as you type: nothing found.";
    out.textContent = "";
    out.appendChild(p);
    if (findings.length) out.appendChild(q);
    out.hidden = false;
  }

  function check() {
    var mine = ++seq;
    var value = text.value;
    if (!value.trim()) return;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.value : "" },
      body: JSON.stringify({ text: value })
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && mine === seq) show(value, j.findings || []); })
      .catch(function () { /* the Check button still works */ });
  }

  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  });
})();
