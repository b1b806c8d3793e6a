// calfcount history page: sessions with totals against the target.
"use strict";
(async function () {
  const body = document.querySelector("#history tbody");
  const r = await fetch("/api/sessions", { cache: "no-store" });
  const sessions = r.ok ? await r.json() : [];
  document.getElementById("empty").hidden = sessions.length > 0;
  for (const s of sessions) {
    const tr = document.createElement("tr");
    const date = new Date(s.started_wall * 1000);
    const cells = [
      date.toLocaleDateString() + " " + date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
      s.exercise.replace("_", " "),
      s.full_sets + " / " + s.target_sets + " × " + s.target_reps,
      String(s.reps),
      s.bouncing + " bouncing, " + s.too_fast + " fast",
    ];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
    if (s.target_met) tr.children[2].className = "met";
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = "/api/sessions/" + s.id + ".csv";
    a.textContent = "CSV";
    td.append(a);
    tr.append(td);
    body.append(tr);
  }
})();
