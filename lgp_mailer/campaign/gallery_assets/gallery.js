// The review table: filter (accent-insensitive), sort, page and export the letters.
// Data and words come from the two JSON blocks in index.html; nothing is fetched.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("lgp-text").textContent);
  var DATA = JSON.parse(document.getElementById("lgp-data").textContent);
  var ROWS = DATA.rows;
  // Row layout (gallery.py): 0 n, 1 municipalities, 2 county, 3 name, 4 role, 5 salutation,
  // 6 email, 7 subject, 8 kind, 9 warnings (list), 10 letter page, 11 problem.
  var WARN = 9, HREF = 10, PROBLEM = 11, NCOLS = 10;
  var collator = new Intl.Collator("hu", { sensitivity: "base", numeric: true });
  var $ = function (id) { return document.getElementById(id); };
  var tbody = document.querySelector("#letters tbody");
  var state = { q: [], county: "", kind: "", warned: false, page: 0, size: 500, sortCol: 0, sortDir: 1 };
  var order = [];     // every row index, in the current sort order
  var shown = [];     // the filtered indices, in that order
  var hay = [];       // folded search text per row

  function fold(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function fmt(key, values) {
    return T[key].replace(/\{(\w+)\}/g, function (_, name) { return String(values[name]); });
  }
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }

  function warnings(row) {
    return row[PROBLEM] ? [row[PROBLEM]].concat(row[WARN]) : row[WARN];
  }

  function prepare() {
    var counties = Object.create(null), kinds = Object.create(null);
    for (var i = 0; i < ROWS.length; i++) {
      var r = ROWS[i];
      order[i] = i;
      if (r[2]) { counties[r[2]] = true; }
      kinds[r[8]] = true;
    }
    fill($("county"), Object.keys(counties));
    fill($("kind"), Object.keys(kinds));
  }
  // The folded search text is built after the first page is shown, in slices, so that
  // 100,000 rows appear at once; a search before it is done finishes it first.
  function foldRows(limit) {
    var end = Math.min(ROWS.length, hay.length + limit);
    for (var i = hay.length; i < end; i++) {
      var r = ROWS[i];
      hay[i] = fold([r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], warnings(r).join(" ")].join("\u0001"));
    }
    return hay.length < ROWS.length;
  }
  function foldLater() {
    if (foldRows(5000)) { setTimeout(foldLater, 0); }
  }
  function fill(select, values) {
    values.sort(collator.compare).forEach(function (v) {
      var option = document.createElement("option");
      option.value = v; option.textContent = v;
      select.appendChild(option);
    });
  }

  function matches(i) {
    var r = ROWS[i];
    if (state.county && r[2] !== state.county) { return false; }
    if (state.kind && r[8] !== state.kind) { return false; }
    if (state.warned && !r[PROBLEM] && r[WARN].length === 0) { return false; }
    var h = hay[i];
    for (var k = 0; k < state.q.length; k++) { if (h.indexOf(state.q[k]) < 0) { return false; } }
    return true;
  }
  function filter(narrower) {
    // A query that only grew can only drop rows: look at the rows still shown.
    var from = narrower ? shown : order, kept = [];
    if (state.q.length) { foldRows(ROWS.length); }
    for (var k = 0; k < from.length; k++) { if (matches(from[k])) { kept.push(from[k]); } }
    shown = kept;
  }
  function sort() {
    var col = state.sortCol, dir = state.sortDir;
    var key = col === 0 ? function (i) { return ROWS[i][0]; }
      : col === WARN ? function (i) { return warnings(ROWS[i]).length; } : null;
    order.sort(function (a, b) {
      var c = key ? key(a) - key(b) : collator.compare(ROWS[a][col], ROWS[b][col]);
      return (c || ROWS[a][0] - ROWS[b][0]) * dir;
    });
  }

  function cell(row, col) {
    if (col === 0) {
      return row[HREF]
        ? '<td><a href="' + esc(row[HREF]) + '" aria-label="' + esc(fmt("open_letter", { n: row[0] })) + '">' + row[0] + "</a></td>"
        : '<td><span class="bad">' + row[0] + "</span></td>";
    }
    if (col === WARN) {
      var list = warnings(row);
      if (!list.length) { return "<td></td>"; }
      var items = list.map(function (w, k) {
        return "<li" + (k === 0 && row[PROBLEM] ? ' class="bad"' : "") + ">" + esc(w) + "</li>";
      });
      return '<td class="warn"><ul>' + items.join("") + "</ul></td>";
    }
    return "<td>" + esc(row[col]) + "</td>";
  }
  function paint() {
    var pages = Math.max(1, Math.ceil(shown.length / state.size));
    state.page = Math.min(state.page, pages - 1);
    var start = state.page * state.size, end = Math.min(shown.length, start + state.size);
    var html = [];
    for (var k = start; k < end; k++) {
      var row = ROWS[shown[k]], cells = [];
      for (var c = 0; c < NCOLS; c++) { cells.push(cell(row, c)); }
      html.push("<tr>" + cells.join("") + "</tr>");
    }
    tbody.innerHTML = html.join("");
    $("status").textContent = shown.length
      ? fmt("status", { from: start + 1, to: end, shown: shown.length, total: ROWS.length })
      : fmt("status_empty", { total: ROWS.length });
    $("first").disabled = $("prev").disabled = state.page === 0;
    $("next").disabled = $("last").disabled = state.page >= pages - 1;
    void tbody.offsetHeight;  // lay the table out now, so the time measured includes it
  }
  function update(since, refilter, narrower) {
    if (refilter) { filter(narrower); }
    paint();
    api.lastRepaintMs = performance.now() - since;
    $("timing").textContent = fmt("timing", { ms: Math.round(api.lastRepaintMs) });
  }

  function csvCell(value) {
    var s = String(value);
    if (/^[=+\-@\t\r]/.test(s)) { s = "'" + s; }  // no formulas when a spreadsheet opens it
    return /[";\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csv(indices) {
    var head = DATA.columns.map(function (c) { return T["col_" + c]; }).concat([T.col_file]);
    var lines = [head.map(csvCell).join(";")];
    indices.forEach(function (i) {
      var r = ROWS[i];
      var values = [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], warnings(r).join(" | "), r[HREF]];
      lines.push(values.map(csvCell).join(";"));
    });
    return "\ufeff" + lines.join("\r\n") + "\r\n";
  }
  function download() {
    var blob = new Blob([csv(shown)], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = T.csv_file;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  }

  function headers() {
    var ths = document.querySelectorAll("#letters thead th");
    ths.forEach(function (th) {
      th.querySelector("button").addEventListener("click", function (event) {
        var col = Number(th.dataset.col);
        state.sortDir = state.sortCol === col ? -state.sortDir : 1;
        state.sortCol = col;
        ths.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
        sort();
        update(event.timeStamp, true);
      });
    });
    ths[0].setAttribute("aria-sort", "ascending");
  }
  function controls() {
    var typed = "";
    $("q").addEventListener("input", function (event) {
      var now = fold(event.target.value);
      // Text that only grew at its end (a longer word, one more word) can only drop rows.
      var narrower = typed !== "" && now.indexOf(typed) === 0;
      typed = now;
      state.q = now.split(/\s+/).filter(Boolean);
      state.page = 0;
      update(event.timeStamp, true, narrower);
    });
    [["county", "county"], ["kind", "kind"]].forEach(function (pair) {
      $(pair[0]).addEventListener("change", function (event) {
        state[pair[1]] = event.target.value; state.page = 0; update(event.timeStamp, true);
      });
    });
    $("warned").addEventListener("change", function (event) {
      state.warned = event.target.checked; state.page = 0; update(event.timeStamp, true);
    });
    $("size").addEventListener("change", function (event) {
      state.size = Number(event.target.value); state.page = 0; update(event.timeStamp, false);
    });
    var last = function () { return Math.max(0, Math.ceil(shown.length / state.size) - 1); };
    [["first", function () { return 0; }], ["prev", function () { return state.page - 1; }],
      ["next", function () { return state.page + 1; }], ["last", last]].forEach(function (pair) {
      $(pair[0]).addEventListener("click", function (event) {
        state.page = Math.max(0, Math.min(last(), pair[1]())); update(event.timeStamp, false);
      });
    });
    $("export").addEventListener("click", download);
    // Up and down move between the letters' links, as in a list.
    tbody.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
      var tr = event.target.closest("tr");
      var next = tr && (event.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling);
      var link = next && next.querySelector("a, span");
      if (link && link.tagName === "A") { link.focus(); event.preventDefault(); }
    });
  }

  var api = {
    ready: false, firstPaintMs: null, lastRepaintMs: null,
    csv: function () { return csv(shown); },
    shownCount: function () { return shown.length; },
    fold: fold
  };
  window.lgpGallery = api;
  state.size = Number($("size").value);
  prepare();
  headers();
  controls();
  filter();
  paint();
  api.firstPaintMs = performance.now();
  api.ready = true;
  setTimeout(foldLater, 0);
  $("timing").textContent = fmt("timing", { ms: Math.round(api.firstPaintMs) });
}());
