/**
 * `--format TEMPLATE` of the read commands (`digest`, `inspect`, `manifest`, `tags`, `referrers`): a Go
 * `text/template` over the command's `--json` document (see `template.ts`).
 */
import * as Options from "@effect/cli/Options"

/** @internal */
export const format = Options.text("format").pipe(
  Options.withPseudoName("TEMPLATE"),
  Options.withDescription(
    "Print this Go template of the --json document instead (fields capitalised: {{.Digest}}, " +
      "{{range .Tags}}{{println .}}{{end}}, {{json .Annotations}}); not with --json."
  ),
  Options.optional
)
