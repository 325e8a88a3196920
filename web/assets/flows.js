// The flow inspector's live rows: each exchange the STS records arrives as a server-sent
// event carrying its flow; the flow's row is updated, or a new one is put on top. Without
// JavaScript the page is the same list, current when loaded.
(function () {
  "use strict";
  var table = document.getElementById("flows");
  if (!table || !table.dataset.events || !window.EventSource) { return; }
  var body = document.getElementById("flows-body");
  var status = document.getElementById("live");
  var empty = document.getElementById("no-flows");
  var source = new EventSource(table.dataset.events);
  function time(at) {
    return new Date(at * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }
  function cell(row, i, text) {
    row.cells[i].textContent = text;
  }
  source.addEventListener("open", function () {
    if (status) { status.textContent = "● " + table.dataset.liveText; }
  });
  source.addEventListener("exchange", function (e) {
    var ev = JSON.parse(e.data);
    var flow = ev.flow;
    if (flow.kind === "discovery" && !flow.client_id) { return; }
    var row = body.querySelector('tr[data-flow="' + flow.id + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.dataset.flow = flow.id;
      for (var i = 0; i < 5; i++) { row.appendChild(document.createElement("td")); }
      var link = document.createElement("a");
      link.href = table.dataset.linkBase + flow.id;
      row.cells[0].appendChild(link);
      row.cells[1].appendChild(document.createElement("code"));
      body.insertBefore(row, body.firstChild);
      if (empty) { empty.remove(); empty = null; }
    }
    row.cells[0].firstChild.textContent = flow.kind;
    row.cells[1].firstChild.textContent = flow.client_id || "";
    cell(row, 2, time(flow.started_at));
    cell(row, 3, String(flow.exchanges.length));
    cell(row, 4, String(flow.errors));
  });
})();
