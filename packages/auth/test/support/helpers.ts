// Real credential helper executables, written to a temp directory that is put on the helpers' PATH.
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as path from "node:path"

export interface HelperDir {
  readonly dir: string
  /** Environment that puts `dir` first on PATH. */
  readonly env: Record<string, string>
  /** The file where the `store`/`erase` helper records what it was given. */
  readonly log: string
}

const scripts = (dir: string): Record<string, string> => ({
  // Knows ghcr.io (user + password) and Docker Hub (an identity token); nothing else.
  good: `#!/bin/sh
server=$(cat)
case "$1" in
  get)
    case "$server" in
      ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}' ;;
      https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"hub-identity"}' "$server" ;;
      *) echo "credentials not found in native keychain"; exit 1 ;;
    esac ;;
  *) echo "unsupported"; exit 1 ;;
esac
`,
  empty: `#!/bin/sh
cat > /dev/null
echo "credentials not found in native keychain"
exit 1
`,
  crash: `#!/bin/sh
cat > /dev/null
echo "helper exploded: keychain locked" >&2
exit 3
`,
  garbage: `#!/bin/sh
cat > /dev/null
echo '{"Username": 42, "Secret": "leaky-secret"}'
`,
  hang: `#!/bin/sh
exec sleep 30
`,
  // Remembers what it stores, in a file, and serves it back.
  store: `#!/bin/sh
input=$(cat)
log="${dir}/store.log"
case "$1" in
  store) printf '%s\\n' "store $input" >> "$log"; printf '%s' "$input" > "${dir}/stored.json" ;;
  get)
    if [ -f "${dir}/stored.json" ]; then cat "${dir}/stored.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) printf '%s\\n' "erase $input" >> "$log"; rm -f "${dir}/stored.json" ;;
  list) printf '{}' ;;
esac
`
})

export const makeHelpers: Effect.Effect<HelperDir, never, FileSystem.FileSystem | Scope.Scope> = Effect
  .gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "ocidist-helpers-" }).pipe(Effect.orDie)
    for (const [name, body] of Object.entries(scripts(dir))) {
      const file = path.join(dir, `docker-credential-${name}`)
      yield* fs.writeFileString(file, body).pipe(Effect.orDie)
      yield* fs.chmod(file, 0o755).pipe(Effect.orDie)
    }
    return { dir, env: { PATH: `${dir}:${process.env["PATH"] ?? "/usr/bin:/bin"}` }, log: path.join(dir, "store.log") }
  })
