/** Start a session from the web: repository, prompt, model. */
import type { Viewer } from "../deps.js";
import { Layout } from "../layout.js";

export function NewSessionPage(props: { viewer: Viewer; repos: string[]; defaultModel: string | null }) {
  const local = props.viewer.local;
  return (
    <Layout title="New session" viewer={props.viewer} scripts={["/assets/new-session.js"]}>
      <h1>New session</h1>
      <form id="new-session" class="card">
        <label for="repo">{local ? "Repository (a path on this machine)" : "Repository (owner/name)"}</label>
        <input
          id="repo"
          name="repo"
          list="repos"
          required
          placeholder={local ? "/path/to/repo" : "owner/name"}
          autocomplete="off"
        />
        <datalist id="repos">
          {props.repos.map((r) => (
            <option value={r}></option>
          ))}
        </datalist>
        <label for="prompt" style="display:block;margin-top:10px">
          What should the agent do?
        </label>
        <textarea id="prompt" name="prompt" required placeholder="Fix the flaky test in …"></textarea>
        <label for="model" style="display:block;margin-top:10px">
          Model <span class="muted">(optional, provider/model)</span>
        </label>
        <input id="model" name="model" placeholder={props.defaultModel ?? "default"} autocomplete="off" />
        <div class="row" style="justify-content:space-between;margin-top:10px">
          <span id="form-error" class="muted" role="status"></span>
          <button type="button" id="voice" class="hidden" aria-pressed="false">
            Dictate
          </button>
          <button class="primary" type="submit">
            Start session
          </button>
        </div>
      </form>
    </Layout>
  );
}
