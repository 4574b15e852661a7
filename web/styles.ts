/** The one stylesheet: small, mobile-first, light and dark. */
export const css = `
:root{--primary:#1a7f37;--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--card:#f6f8fa;--accent:#0969da;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--add:#dafbe1;--del:#ffebe9}
@media (prefers-color-scheme:dark){:root{--primary:#238636;--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--accent:#4493f8;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--add:#12261e;--del:#25171c}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--accent);text-decoration:none}a:hover,.event a,p a{text-decoration:underline}
header.top{display:flex;gap:12px;align-items:center;padding:10px 16px;border-bottom:1px solid var(--line);flex-wrap:wrap}
header.top .brand{font-weight:700;color:var(--fg)}header.top nav{display:flex;gap:12px;flex:1}
main{max-width:960px;margin:0 auto;padding:16px}
h1{font-size:1.3rem;margin:0 0 8px}h2{font-size:1.05rem;margin:20px 0 8px}
.muted{color:var(--muted)}.row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.avatar{width:24px;height:24px;border-radius:50%;vertical-align:middle;background:var(--line);display:inline-flex;align-items:center;justify-content:center;font-size:12px;font-weight:600;overflow:hidden;flex:none}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;border:1px solid var(--line);white-space:nowrap}
.s-running,.s-starting{color:var(--warn);border-color:var(--warn)}.s-completed,.s-idle,.s-done{color:var(--ok);border-color:var(--ok)}
.s-failed,.s-error,.s-stopped{color:var(--bad);border-color:var(--bad)}.s-queued,.s-cancelled,.s-archived,.s-pending{color:var(--muted)}
.list{list-style:none;margin:0;padding:0}.list li{border-bottom:1px solid var(--line);padding:10px 0;display:grid;grid-template-columns:auto 1fr auto;gap:4px 10px;align-items:center}
.list .title{font-weight:600}.list .meta{grid-column:2/4;font-size:13px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:8px 0}
.prompt .text{white-space:pre-wrap;margin-top:4px}
.assistant{white-space:pre-wrap;margin:8px 0;padding-left:10px;border-left:3px solid var(--accent)}
details.tool{border:1px solid var(--line);border-radius:6px;margin:6px 0;background:var(--card)}
details.tool>summary{cursor:pointer;padding:6px 10px;display:flex;gap:8px;align-items:center;list-style:none}
details.tool>summary::-webkit-details-marker{display:none}
details.tool .name{font-family:ui-monospace,monospace;font-size:13px}details.tool .title{flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
pre{margin:0;padding:8px 10px;overflow:auto;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;max-height:420px;white-space:pre-wrap;word-break:break-word}
.diff .add{background:var(--add);display:block}.diff .del{background:var(--del);display:block}.diff .hunk{color:var(--muted);display:block}
.event{font-size:14px;margin:6px 0}.event.error{color:var(--bad)}
.sticky{position:sticky;bottom:0;background:var(--bg);border-top:1px solid var(--line);padding:10px 0}
textarea,input,select{width:100%;font:inherit;padding:8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
textarea{min-height:70px;resize:vertical}
button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer}
button.primary{background:var(--primary);border-color:var(--primary);color:#fff}button.danger{color:var(--bad);border-color:var(--bad)}
button:disabled{opacity:.5;cursor:default}
.presence{display:flex;gap:4px}.queue li{display:flex;gap:8px;align-items:center;padding:4px 0}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}.stats .card b{display:block;font-size:1.4rem}
.chart{width:100%;height:auto}.chart text{fill:var(--muted);font-size:10px}.chart .bar{fill:var(--accent)}.chart .bar2{fill:var(--ok)}
.notice{padding:8px 12px;border-radius:6px;background:var(--card);border:1px solid var(--line);margin:8px 0}
.hidden{display:none!important}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.skip{position:absolute;left:8px;top:-40px;background:var(--bg);padding:6px 10px;border:1px solid var(--line);border-radius:6px;z-index:10}.skip:focus{top:8px}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}main:focus{outline:none}
.stat{font:12px ui-monospace,monospace;white-space:nowrap}.plus{color:var(--ok)}.minus{color:var(--bad)}
.changes .files{list-style:none;margin:6px 0 0;padding:0}.changes .files li{display:flex;gap:8px;justify-content:space-between;padding:2px 0;border-top:1px solid var(--line);overflow-wrap:anywhere}
.pad{padding:6px 10px;margin:0}.event.commit{overflow-wrap:anywhere}
button[aria-pressed="true"]{border-color:var(--bad);color:var(--bad)}
@media (max-width:600px){main{padding:10px}.list li{grid-template-columns:auto 1fr}.list .pr{grid-column:2}header.top nav{order:3;width:100%}}
`;
