// Keeps a run's page current: polls its state every 2 s while the run may still move,
// recolours the picture, rewrites the step table and the header, and reloads the page when
// the run ends or its pending gates change (so output, failure and buttons come from the
// server). The page is complete without it.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-state-url");
  if (!url || body.getAttribute("data-live") !== "true") {
    return;
  }
  var gates = body.getAttribute("data-gates") || "";
  var notice = document.getElementById("live");
  var nodes = {};
  document.querySelectorAll("[data-step]").forEach(function (node) {
    nodes[node.getAttribute("data-step")] = node;
  });

  function fit(text, max) {
    return text.length <= max ? text : text.slice(0, max - 1).trim() + "\u2026";
  }

  function restate(element, state) {
    var kept = (element.getAttribute("class") || "").split(" ").filter(function (c) {
      return c && c.indexOf("st-") !== 0;
    });
    kept.push("st-" + state);
    element.setAttribute("class", kept.join(" "));
  }

  function apply(state) {
    state.nodes.forEach(function (node) {
      var element = nodes[node.key];
      if (!element) {
        return;
      }
      restate(element, node.state);
      var text = element.querySelector(".state");
      if (text) {
        var max = parseInt(text.getAttribute("data-max") || "24", 10);
        text.textContent = fit(node.detail, max);
      }
      var title = element.querySelector("title");
      if (title) {
        title.textContent = title.textContent.replace(/: [^:]*$/, ": " + node.detail);
      }
    });
    var badge = document.querySelector('[data-field="status"]');
    if (badge) {
      badge.setAttribute("class", "badge run-" + state.status);
    }
    Object.keys(state.header).forEach(function (field) {
      var element = document.querySelector('[data-field="' + field + '"]');
      if (element) {
        element.textContent = state.header[field];
      }
    });
    var rows = document.getElementById("steps-body");
    if (rows) {
      var fresh = document.createDocumentFragment();
      state.rows.forEach(function (row) {
        var tr = document.createElement("tr");
        row.cells.forEach(function (cell, index) {
          var td = document.createElement("td");
          if (index === 4) {
            var pill = document.createElement("span");
            pill.className = "pill " + row.class;
            pill.textContent = cell;
            td.appendChild(pill);
          } else {
            td.textContent = cell;
          }
          if (state.numeric_columns.indexOf(index) >= 0) {
            td.className = "num";
          }
          tr.appendChild(td);
        });
        fresh.appendChild(tr);
      });
      rows.replaceChildren(fresh);
    }
    return !state.ended && state.gates === gates;
  }

  function poll() {
    fetch(url, { cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("the server answered " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        if (apply(state)) {
          setTimeout(poll, 2000);
        } else {
          window.location.reload();
        }
      })
      .catch(function (error) {
        if (notice) {
          notice.textContent = "Live updates stopped (" + error.message + "); reload to try again.";
        }
      });
  }

  setTimeout(poll, 2000);
})();
