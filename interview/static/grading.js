// The grading queue on the page: a "Grading…" page swaps the verdict in when it lands, and the
// "Run" button runs the visible tests. No dependencies; without JavaScript a refresh shows it.
(function () {
  "use strict";

  // Poll `statusUrl` until its state is no longer "pending", then put the fresh page's <main> in.
  function waitFor(el) {
    var delay = 300;
    function poll() {
      fetch(el.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.state === "pending") { delay = Math.min(delay * 1.5, 2000); setTimeout(poll, delay); return; }
          return fetch(el.dataset.pageUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); })
            .then(function (html) {
              var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
              var main = document.querySelector("main");
              if (!fresh || !main) { window.location.reload(); return; }
              main.innerHTML = fresh.innerHTML;
              if (window.interviewTypeset) window.interviewTypeset(main);
              var focus = main.querySelector("h1, h2");
              if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
            });
        })
        .catch(function () { delay = Math.min(delay * 2, 5000); setTimeout(poll, delay); });
    }
    setTimeout(poll, delay);
  }

  function cell(row, text, tag) {
    var td = document.createElement(tag || "td");
    if (tag !== "th") { var code = document.createElement("code"); code.textContent = text; td.appendChild(code); }
    else td.textContent = text;
    row.appendChild(td);
  }

  function showRun(out, data) {
    out.textContent = "";
    var result = data.result || {};
    var lines = data.state === "failed" ? ["The run could not be completed: " + (data.error || "try again.")]
                                        : (result.feedback || []);
    lines.forEach(function (line) { var p = document.createElement("p"); p.textContent = line; out.appendChild(p); });
    var tests = result.tests || [];
    if (!tests.length) return;
    var table = document.createElement("table");
    table.className = "tests";
    var head = document.createElement("tr");
    ["Test", "Input", "Expected", "Got", "Result"].forEach(function (h) { cell(head, h, "th"); });
    table.appendChild(head);
    tests.forEach(function (t, i) {
      var tr = document.createElement("tr");
      tr.className = t.status || "";
      var num = document.createElement("td"); num.textContent = String(i + 1); tr.appendChild(num);
      cell(tr, t.input || ""); cell(tr, t.expected || ""); cell(tr, t.got || "");
      var st = document.createElement("td"); st.textContent = t.status || ""; tr.appendChild(st);
      table.appendChild(tr);
    });
    out.appendChild(table);
  }

  function runButton(button) {
    var form = button.form;
    var out = document.getElementById("run-output");
    button.hidden = false;
    button.addEventListener("click", function () {
      var body = new URLSearchParams(new FormData(form));
      button.disabled = true;
      out.textContent = "Running the visible tests…";
      fetch(button.dataset.url, { method: "POST", body: body, credentials: "same-origin",
                                  headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
        .then(function (res) {
          if (!res.ok) { out.textContent = res.data.error || "The run was refused."; button.disabled = false; return; }
          var delay = 250;
          (function poll() {
            fetch(res.data.status_url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
              .then(function (r) { return r.json(); })
              .then(function (job) {
                if (job.state === "queued" || job.state === "running") {
                  out.textContent = job.state === "queued" ? "Waiting for a grader…" : "Running the visible tests…";
                  delay = Math.min(delay * 1.5, 2000); setTimeout(poll, delay); return;
                }
                showRun(out, job);
                button.disabled = false;
              })
              .catch(function () { out.textContent = "Lost touch with the server: run again."; button.disabled = false; });
          })();
        })
        .catch(function () { out.textContent = "Lost touch with the server: run again."; button.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-status-url][data-page-url]").forEach(function (el) {
      if (el.dataset.state === "pending") waitFor(el);
    });
    var run = document.getElementById("run-tests");
    if (run) runButton(run);
  });
})();
