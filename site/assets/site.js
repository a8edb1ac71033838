// Tables, filters, column chooser and hardware selector for the harness leaderboard. No dependencies, no network.
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

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.getAttribute("data-type") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    each(header.parentNode.children, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
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

  each(document.querySelectorAll("table.sortable"), function (table) {
    each(table.querySelectorAll("thead th"), function (header) {
      header.addEventListener("click", function () { sortBy(table, header); });
    });
  });

  each(document.querySelectorAll("input[data-filter-for]"), function (input) {
    var table = document.getElementById(input.getAttribute("data-filter-for"));
    input.addEventListener("input", function () {
      table.filterText = input.value;
      applyFilters(table);
    });
  });

  each(document.querySelectorAll("[data-tools-for]"), function (tools) {
    var table = document.getElementById(tools.getAttribute("data-tools-for"));
    if (!table) return;
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
