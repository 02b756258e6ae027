// Small, dependency-free behaviour: math rendering, code boxes, hints, shortcuts, the mock timer.
(function () {
  "use strict";

  function renderMath(root) {
    if (!window.katex) return;
    root.querySelectorAll(".math").forEach(function (el) {
      if (el.dataset.rendered) return;
      try {
        window.katex.render(el.textContent, el, { displayMode: el.classList.contains("display"), throwOnError: false });
        el.dataset.rendered = "1";
      } catch (e) { /* leave the source visible */ }
    });
  }

  // A formula wider than its column (a long inline expression on a phone) gets a box of its
  // own that scrolls sideways, instead of pushing the whole page wider than the screen.
  function fitMath() {
    document.querySelectorAll(".math").forEach(function (el) {
      el.classList.remove("wide");
      var box = el.parentElement;
      while (box && box.parentElement && getComputedStyle(box).display.indexOf("inline") === 0) box = box.parentElement;
      if (!box) return;
      var style = getComputedStyle(box);
      var right = box.getBoundingClientRect().right - parseFloat(style.paddingRight || "0");
      var tooWide = el.scrollWidth > box.clientWidth + 1 ||
        Array.prototype.some.call(el.getClientRects(), function (r) { return r.right > right + 1; });
      if (tooWide) el.classList.add("wide");
    });
  }

  function codeBoxes() {
    document.querySelectorAll("textarea.code").forEach(function (box) {
      box.addEventListener("keydown", function (ev) {
        if (ev.key === "Tab" && !ev.ctrlKey && !ev.metaKey) {
          ev.preventDefault();
          var start = box.selectionStart, end = box.selectionEnd;
          box.value = box.value.slice(0, start) + "    " + box.value.slice(end);
          box.selectionStart = box.selectionEnd = start + 4;
        }
      });
    });
  }

  function hints() {
    var button = document.getElementById("hint-button");
    if (!button) return;
    var list = document.querySelectorAll(".hint");
    var shown = document.querySelectorAll(".hint:not([hidden])").length;  // a resubmission shows the hint it used
    if (shown >= list.length) button.disabled = true;
    button.addEventListener("click", function () {
      if (shown < list.length) { list[shown].hidden = false; shown += 1; }
      var used = document.getElementById("hint-used");
      if (used) used.value = "1";
      if (shown >= list.length) button.disabled = true;
    });
  }

  function shortcuts() {
    document.addEventListener("keydown", function (ev) {
      if (ev.defaultPrevented) return;  // the code editor handled it (its Ctrl+Enter submits too)
      var active = document.activeElement;
      var typing = active && (/^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) || active.isContentEditable);
      if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
        var form = document.querySelector("form.answer");
        if (form) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
        return;
      }
      if (typing) return;
      if (/^[1-4]$/.test(ev.key)) {
        var rate = document.querySelector('form.rate button[value="' + ev.key + '"]');
        if (rate) { ev.preventDefault(); rate.click(); }
      } else if (ev.key === "n" || ev.key === "N") {
        var next = document.getElementById("next-link");
        if (next) { ev.preventDefault(); next.click(); }
      }
    });
  }

  function expressionPreview() {
    var input = document.querySelector("input.expression");
    var out = document.getElementById("expression-preview");
    if (!input || !out) return;
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var body = new URLSearchParams({ text: input.value, question_id: input.dataset.question });
        fetch(input.dataset.previewUrl, {
          method: "POST", body: body,
          headers: { "X-CSRFToken": document.querySelector('input[name="csrf_token"]').value }
        }).then(function (r) { return r.json(); }).then(function (data) {
          out.textContent = "";
          if (data.error) { out.className = "preview error"; out.textContent = data.error; return; }
          out.className = "preview";
          if (window.katex && data.latex) {
            window.katex.render(data.latex, out, { throwOnError: false });
          } else {
            out.textContent = "read as: " + data.read_as;
          }
        }).catch(function () { /* preview is a nicety */ });
      }, 200);
    });
  }

  function mockTimer() {
    var clock = document.getElementById("mock-clock");
    if (!clock) return;
    var left = parseFloat(clock.dataset.secondsLeft);
    var deadline = Date.now() + left * 1000;
    var form = document.getElementById("mock-form");
    var shownAt = Date.now();
    var spent = document.getElementById("seconds-spent");
    function tick() {
      var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      clock.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      if (spent) spent.value = String((Date.now() - shownAt) / 1000 + parseFloat(spent.dataset.before || "0"));
      if (s <= 0) {
        clearInterval(handle);
        var finalField = document.getElementById("finish-now");
        if (finalField) finalField.disabled = false;
        if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
      }
    }
    var handle = setInterval(tick, 500);
    tick();
  }

  // the browser's time zone, for times shown before the learner picks one in Settings
  function rememberTimeZone() {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) if (/^[A-Za-z0-9_+/-]+$/.test(zone)) document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    } catch (e) { /* UTC then */ }
  }

  // on a narrow screen the navigation folds behind a Menu button (without JS it stays open)
  function menu() {
    var button = document.querySelector(".menu-toggle");
    var nav = document.getElementById("site-nav");
    if (!button || !nav) return;
    document.documentElement.classList.add("js");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // forms that undo badly ask first (retiring a question)
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
      });
    });
  }

  // a box that scrolls sideways (code, a schema, a wide table) must be reachable by keyboard
  function scrollablesFocusable() {
    document.querySelectorAll("pre, .table-scroll, .math.wide, .katex-display").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
    });
  }

  // for content put into the page later (a verdict the grading queue swapped in)
  window.interviewTypeset = function (root) { renderMath(root); fitMath(); scrollablesFocusable(); };

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document);
    fitMath();
    scrollablesFocusable();
    window.addEventListener("resize", function () { fitMath(); scrollablesFocusable(); });
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(function () { fitMath(); scrollablesFocusable(); });
    if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) document.documentElement.classList.add("touch");
    rememberTimeZone();
    confirmations();
    menu();
    codeBoxes();
    hints();
    shortcuts();
    expressionPreview();
    mockTimer();
  });
})();
