// Tables, filters, column chooser and hardware selector for the harness leaderboard, and the samples pages (rows
// rendered from the run's samples.js, a page at a time). No dependencies, no network. Text from the data is only
// ever inserted with textContent.
(function () {
  "use strict";
  var LABELS = { params: "parameters", outcome: "outcome", hardware: "hardware", model: "model", family: "family", status: "status" };

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }

  function compare(a, b, numeric) {
    if (a === "" && b === "") return 0;
    if (a === "") return 1;   // missing values sink, whatever the direction
    if (b === "") return -1;
    if (numeric) return parseFloat(a) - parseFloat(b);
    return a.localeCompare(b);
  }

  // A header click: ascending first, then it flips; the header shows the direction (aria-sort) and is returned.
  function toggleSort(header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    each(header.parentNode.children, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    return ascending;
  }

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.getAttribute("data-type") === "number";
    var ascending = toggleSort(header);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = cellValue(r1, index), b = cellValue(r2, index);
      if (a === "" || b === "") return compare(a, b, numeric);
      var order = compare(a, b, numeric);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  // Every filter of a table (its text box and its selects) must accept a row for it to show.
  function applyFilters(table) {
    var needle = (table.filterText || "").trim().toLowerCase();
    var chosen = table.filterChoices || {};
    each(table.tBodies[0].rows, function (row) {
      var show = needle === "" || row.textContent.toLowerCase().indexOf(needle) !== -1;
      Object.keys(chosen).forEach(function (key) {
        if (chosen[key] !== "" && row.getAttribute("data-" + key) !== chosen[key]) show = false;
      });
      row.hidden = !show;
    });
  }

  function makeSelect(labelText, values, onChange) {
    var label = document.createElement("label");
    label.className = "filter";
    label.appendChild(document.createTextNode(labelText + " "));
    var select = document.createElement("select");
    [""].concat(values).forEach(function (v) {
      var option = document.createElement("option");
      option.value = v;
      option.textContent = v === "" ? "all" : v;
      select.appendChild(option);
    });
    select.addEventListener("change", function () { onChange(select.value); });
    label.appendChild(select);
    return label;
  }

  function distinct(nodes, key) {
    var seen = {};
    each(nodes, function (n) { var v = n.getAttribute("data-" + key); if (v !== null) seen[v] = true; });
    return Object.keys(seen).sort();
  }

  function addSelectFilters(tools, table) {
    var keys = (tools.getAttribute("data-filter-keys") || "").split(" ").filter(Boolean);
    table.filterChoices = {};
    keys.forEach(function (key) {
      var values = distinct(table.tBodies[0].rows, key);
      if (values.length < 2) return;  // a filter with one value would do nothing
      tools.appendChild(makeSelect(LABELS[key] || key, values, function (value) {
        table.filterChoices[key] = value;
        applyFilters(table);
      }));
    });
  }

  function setColumn(table, index, visible) {
    table.hiddenColumns = table.hiddenColumns || {};
    table.hiddenColumns[index] = !visible;  // remembered for rows rendered later (the samples pages)
    each(table.querySelectorAll("thead tr, tbody tr"), function (row) {
      var cell = row.children[index];
      if (cell) cell.classList.toggle("col-hidden", !visible);
    });
  }

  function addColumnChooser(tools, table) {
    var headers = table.tHead.rows[0].cells;
    var details = document.createElement("details");
    details.className = "columns";
    var summary = document.createElement("summary");
    summary.textContent = "Columns";
    details.appendChild(summary);
    var list = document.createElement("div");
    list.className = "column-list";
    each(headers, function (th, index) {
      var optional = th.hasAttribute("data-optional");
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !optional;
      box.addEventListener("change", function () { setColumn(table, index, box.checked); });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + th.textContent.trim()));
      list.appendChild(label);
      if (optional) setColumn(table, index, false);
    });
    details.appendChild(list);
    tools.appendChild(details);
  }

  // --- samples pages: every row is in samples.js (base64 of gzipped JSON); 50 at a time are in the DOM ---------------

  function message(table, text) {
    var body = table.tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    var row = body.insertRow();
    var cell = row.insertCell();
    cell.colSpan = table.tHead.rows[0].cells.length;
    cell.className = "samples-message";
    cell.textContent = text;
  }

  function decodeSamples(encoded) {
    var binary = atob(encoded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  // A log row's line of JSON indented by two spaces per level, as Python's json.dumps(indent=2) prints it; it works on
  // the text (strings kept whole, spaces between tokens dropped), so numbers keep their digits. A cut row (it holds a
  // newline) is shown as it is.
  function indentJson(text) {
    if (text.indexOf("\n") !== -1) return text;
    var out = [], depth = 0, inString = false;
    function newline() { out.push("\n" + "  ".repeat(depth)); }
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (inString) {
        out.push(c);
        if (c === "\\") { out.push(text[++i]); } else if (c === '"') { inString = false; }
      } else if (c === '"') {
        inString = true;
        out.push(c);
      } else if (c === "{" || c === "[") {
        var close = c === "{" ? "}" : "]";
        if (text[i + 1] === close) { out.push(c + close); i++; continue; }
        out.push(c);
        depth++;
        newline();
      } else if (c === "}" || c === "]") {
        depth--;
        newline();
        out.push(c);
      } else if (c === ",") {
        out.push(",");
        newline();
      } else if (c === ":") {
        out.push(": ");
      } else if (c !== " " && c !== "\t" && c !== "\r") {
        out.push(c);
      }
    }
    return out.join("");
  }

  function sampleValue(row, key) {
    if (key === "index") return String(row.index);
    if (key === "score") return row.score === null || row.score === undefined ? "" : String(row.score);
    return row[key] || "";
  }

  function sampleCell(row, key) {
    var td = document.createElement("td");
    if (key === "id") {
      var code = document.createElement("code");
      code.textContent = row.id;
      td.appendChild(code);
    } else if (key === "index") {
      td.className = "num";
      td.textContent = String(row.index);
    } else if (key === "score") {
      td.className = "num";
      td.textContent = row.score_text;
    } else if (key === "outcome") {
      var badge = document.createElement("span");
      badge.className = "outcome outcome-" + row.outcome;
      badge.textContent = row.outcome;
      td.appendChild(badge);
    } else if (key === "raw") {
      var details = document.createElement("details");
      var summary = document.createElement("summary");
      summary.textContent = "JSON";
      var pre = document.createElement("pre");
      pre.textContent = indentJson(row.raw);
      details.appendChild(summary);
      details.appendChild(pre);
      td.appendChild(details);
    } else {
      if (key === "output") td.className = "text";
      td.textContent = key === "gold" ? (row.gold || "-") : row[key];
    }
    return td;
  }

  function samplesTable(table) {
    var perPage = parseInt(table.getAttribute("data-samples"), 10) || 50;
    var headers = table.tHead.rows[0].cells;
    var keys = Array.prototype.map.call(headers, function (th) { return th.getAttribute("data-key"); });
    var pager = document.querySelector("[data-pager-for='" + table.id + "']");
    var tools = document.querySelector("[data-tools-for='" + table.id + "']");
    var input = document.querySelector("input[data-filter-for='" + table.id + "']");
    var state = { all: [], shown: [], page: 0, needle: "", choices: {} };

    function render() {
      var pages = Math.max(1, Math.ceil(state.shown.length / perPage));
      state.page = Math.min(Math.max(state.page, 0), pages - 1);
      var first = state.page * perPage;
      var body = document.createElement("tbody");
      state.shown.slice(first, first + perPage).forEach(function (row) {
        var tr = document.createElement("tr");
        if (row.outcome) tr.setAttribute("data-outcome", row.outcome);
        keys.forEach(function (key, index) {
          var td = sampleCell(row, key);
          if (table.hiddenColumns && table.hiddenColumns[index]) td.classList.add("col-hidden");
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      table.replaceChild(body, table.tBodies[0]);
      if (!state.shown.length) message(table, "No sample matches the filter.");
      var status = "page " + (state.page + 1) + " of " + pages + " · samples " +
        (state.shown.length ? first + 1 : 0) + "-" + Math.min(first + perPage, state.shown.length) + " of " + state.shown.length;
      if (state.shown.length !== state.all.length) status += " (filtered from " + state.all.length + ")";
      if (pager) {
        pager.querySelector(".pager-status").textContent = status;
        pager.querySelector("[data-step='-1']").disabled = state.page === 0;
        pager.querySelector("[data-step='1']").disabled = state.page >= pages - 1;
      }
    }

    function refilter() {
      var needle = state.needle.trim().toLowerCase();
      state.shown = state.all.filter(function (row) {
        if (needle !== "" && row.haystack.indexOf(needle) === -1) return false;
        return Object.keys(state.choices).every(function (key) {
          return state.choices[key] === "" || row[key] === state.choices[key];
        });
      });
      state.page = 0;
      render();
    }

    function start(rows) {
      state.all = rows.map(function (row, i) {
        row.index = i + 1;
        row.haystack = (row.id + "\n" + row.input + "\n" + row.output).toLowerCase();
        return row;
      });
      if (tools) {
        (tools.getAttribute("data-filter-keys") || "").split(" ").filter(Boolean).forEach(function (key) {
          var seen = {};
          state.all.forEach(function (row) { if (row[key]) seen[row[key]] = true; });
          var values = Object.keys(seen).sort();
          if (values.length < 2) return;  // a filter with one value would do nothing
          tools.appendChild(makeSelect(LABELS[key] || key, values, function (value) {
            state.choices[key] = value;
            refilter();
          }));
        });
        addColumnChooser(tools, table);
      }
      if (input) {
        input.addEventListener("input", function () { state.needle = input.value; refilter(); });
        state.needle = input.value;  // a value the browser restored on going back
      }
      each(headers, function (header, index) {
        header.addEventListener("click", function () {
          var numeric = header.getAttribute("data-type") === "number";
          var ascending = toggleSort(header);
          state.all.sort(function (r1, r2) {
            var a = sampleValue(r1, keys[index]), b = sampleValue(r2, keys[index]);
            if (a === "" || b === "") return compare(a, b, numeric);
            var order = compare(a, b, numeric);
            return ascending ? order : -order;
          });
          refilter();
        });
      });
      if (pager) {
        each(pager.querySelectorAll("button[data-step]"), function (button) {
          button.addEventListener("click", function () {
            state.page += parseInt(button.getAttribute("data-step"), 10);
            render();
          });
        });
      }
      refilter();
    }

    var encoded = window.HARNESS_SAMPLES;
    if (typeof encoded !== "string") {
      message(table, "samples.js did not load: it belongs beside this page (runs/<run>/samples.js); rebuild the site with `harness site`.");
      return;
    }
    if (typeof DecompressionStream === "undefined" || typeof Response === "undefined" || !Blob.prototype.stream) {
      message(table, "This browser cannot decompress the samples (no DecompressionStream): open the page in a current Chrome, Edge, Firefox or Safari.");
      return;
    }
    decodeSamples(encoded).then(function (data) { start(data.rows); }, function (error) {
      message(table, "The samples could not be read from samples.js (" + error + "): rebuild the site with `harness site`.");
    });
  }

  function isSamples(table) { return table && table.hasAttribute("data-samples"); }

  each(document.querySelectorAll("table[data-samples]"), samplesTable);

  // --- the other tables: every row is in the DOM --------------------------------------------------------------------

  each(document.querySelectorAll("table.sortable"), function (table) {
    if (isSamples(table)) return;
    each(table.querySelectorAll("thead th"), function (header) {
      header.addEventListener("click", function () { sortBy(table, header); });
    });
  });

  each(document.querySelectorAll("input[data-filter-for]"), function (input) {
    var table = document.getElementById(input.getAttribute("data-filter-for"));
    if (!table || isSamples(table)) return;
    input.addEventListener("input", function () {
      table.filterText = input.value;
      applyFilters(table);
    });
  });

  each(document.querySelectorAll("[data-tools-for]"), function (tools) {
    var table = document.getElementById(tools.getAttribute("data-tools-for"));
    if (!table || isSamples(table)) return;
    addSelectFilters(tools, table);
    addColumnChooser(tools, table);
  });

  // Page-level filters that show or hide whole sections (a task page's boards by hardware or model).
  each(document.querySelectorAll("[data-section-keys]"), function (tools) {
    var sections = document.querySelectorAll(tools.getAttribute("data-sections"));
    var chosen = {};
    tools.getAttribute("data-section-keys").split(" ").forEach(function (key) {
      var values = distinct(sections, key);
      if (values.length < 2) return;
      tools.appendChild(makeSelect(LABELS[key] || key, values, function (value) {
        chosen[key] = value;
        each(sections, function (s) {
          s.hidden = Object.keys(chosen).some(function (k) { return chosen[k] !== "" && s.getAttribute("data-" + k) !== chosen[k]; });
        });
      }));
    });
  });

  var hardware = document.getElementById("hardware-select");
  if (hardware) {
    hardware.addEventListener("change", function () {
      each(document.querySelectorAll(".matrix-box"), function (box) {
        box.hidden = box.getAttribute("data-hardware") !== hardware.value;
      });
    });
  }
})();
