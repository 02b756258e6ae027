// The code editor for `code` (Python) and `sql` answers: CodeMirror 6 laid over the form's
// <textarea name="answer">, which stays the form's field and is rewritten on every change
// (other scripts read the form). Without JavaScript the textarea is the editor.
import { EditorState, Prec } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, drawSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  indentOnInput, indentUnit, bracketMatching, syntaxHighlighting, defaultHighlightStyle,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { python } from "@codemirror/lang-python";
import { sql, SQLite } from "@codemirror/lang-sql";

const LANGUAGES = {
  python: () => python(),
  sql: () => sql({ dialect: SQLite, upperCaseKeywords: true }),
};

function submitForm(form) {
  return () => {
    if (!form) return false;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
    return true;
  };
}

/** Replace a textarea by an editor; the textarea keeps the value the form submits. */
export function attach(textarea) {
  if (textarea.dataset.editorAttached) return textarea._editorView;
  const language = LANGUAGES[textarea.dataset.editor] || LANGUAGES.python;
  const label = textarea.getAttribute("aria-label") || "Your answer";
  const sync = EditorView.updateListener.of((update) => {
    if (!update.docChanged) return;
    textarea.value = update.state.doc.toString();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  });
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        indentOnInput(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        // Ctrl/Cmd+Enter submits the answer, as everywhere else on the page
        Prec.highest(keymap.of([{ key: "Mod-Enter", run: submitForm(textarea.form) }])),
        // Tab and Shift+Tab indent and dedent; Escape then Tab leaves the editor
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
        language(),
        sync,
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
        EditorView.editorAttributes.of({ class: "code-editor" }),  // CodeMirror owns the class attribute
      ],
    }),
  });
  textarea.insertAdjacentElement("afterend", view.dom);
  textarea.hidden = true;
  textarea.dataset.editorAttached = "1";
  textarea._editorView = view;
  // a form reset (or a script setting the textarea) is taken back into the editor
  textarea.addEventListener("editor:load", () => {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: textarea.value } });
  });
  return view;
}

function attachAll() {
  document.querySelectorAll("textarea[data-editor]").forEach(attach);
}

window.InterviewEditor = { attach, attachAll };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attachAll);
else attachAll();
