import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { SyncConfig, SyncError } from "@ocidist/sync"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

// The example of issue #17, verbatim.
const example = `defaults: { concurrency: 4, referrers: true, platforms: [linux/amd64, linux/arm64] }
registries:
  docker.io: { ratelimit: { pulls: 100, per: 6h }, credentials: docker-config }
  mirror.local:5000: { tls: false }
sync:
  - source: docker.io/library/alpine
    target: mirror.local:5000/library/alpine
    tags: { allow: ["^3\\\\.2[0-9]$", "latest"], deny: ["-rc"], semver: ">=3.19" }
  - source: ghcr.io/org            # a whole namespace, via catalog where allowed
    target: mirror.local:5000/org
    type: registry
`

/** The problems of a config that must not parse, as `line:column: path: message` lines. */
const problems = (text: string) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(SyncConfig.parse(text, "sync.yaml"))
    assert.isTrue(SyncError.isSyncError(error))
    assert.strictEqual(error._tag, "SyncConfigError")
    assert.strictEqual(error.file, "sync.yaml")
    return error
  })

const minimal = (entry: string) => `sync:\n  - source: alpine\n    target: mirror.local:5000/alpine\n${entry}`

describe("SyncConfig", () => {
  it.effect("the issue's example parses to the expected model", () =>
    Effect.gen(function*() {
      const config = yield* SyncConfig.parse(example, "sync.yaml")
      assert.deepStrictEqual(config, {
        defaults: { concurrency: 4, referrers: true, platforms: ["linux/amd64", "linux/arm64"], prune: false },
        registries: {
          "docker.io": { ratelimit: { pulls: 100, per: "6h" }, credentials: "docker-config" },
          "mirror.local:5000": { tls: false }
        },
        sync: [
          {
            source: "docker.io/library/alpine",
            target: "mirror.local:5000/library/alpine",
            type: "repository",
            tags: { allow: ["^3\\.2[0-9]$", "latest"], deny: ["-rc"], semver: ">=3.19" }
          },
          { source: "ghcr.io/org", target: "mirror.local:5000/org", type: "registry" }
        ]
      })
      assert.strictEqual(SyncConfig.perMillis(config.registries["docker.io"]!.ratelimit!), 6 * 3_600_000)
      assert.deepStrictEqual(SyncConfig.registryConfig(config, "index.docker.io"), config.registries["docker.io"])
      assert.isUndefined(SyncConfig.registryConfig(config, "quay.io"))
    }))

  it.effect("the model is encodable: encode then decode gives it back (workflow payloads)", () =>
    Effect.gen(function*() {
      const config = yield* SyncConfig.parse(example)
      const encoded = yield* Schema.encode(SyncConfig.SyncConfig)(config)
      const json = JSON.parse(JSON.stringify(encoded)) as unknown
      assert.deepStrictEqual(yield* Schema.decodeUnknown(SyncConfig.SyncConfig)(json), config)
    }))

  it.effect("defaults: applied when left out, and per entry unless the entry sets its own", () =>
    Effect.gen(function*() {
      const config = yield* SyncConfig.parse(
        `sync:\n  - { source: alpine, target: "mirror.local:5000/alpine" }\n` +
          `  - { source: busybox, target: "mirror.local:5000/busybox", referrers: true, prune: true, ` +
          `platforms: [linux/arm/v7] }\n`
      )
      assert.deepStrictEqual(config.defaults, { concurrency: 4, referrers: false, prune: false })
      assert.deepStrictEqual(config.registries, {})
      assert.deepStrictEqual(SyncConfig.effective(config, config.sync[0]!), {
        source: "docker.io/library/alpine",
        target: "mirror.local:5000/alpine",
        type: "repository",
        referrers: false,
        prune: false,
        concurrency: 4
      })
      assert.deepStrictEqual(SyncConfig.effective(config, config.sync[1]!), {
        source: "docker.io/library/busybox",
        target: "mirror.local:5000/busybox",
        type: "repository",
        platforms: ["linux/arm/v7"],
        referrers: true,
        prune: true,
        concurrency: 4
      })
      const withDefaults = yield* SyncConfig.parse(example)
      const first = SyncConfig.effective(withDefaults, withDefaults.sync[0]!)
      assert.deepStrictEqual(first.platforms, ["linux/amd64", "linux/arm64"])
      assert.isTrue(first.referrers)
      assert.deepStrictEqual(
        Schema.decodeUnknownSync(SyncConfig.EffectiveEntry)(first),
        first,
        "an effective entry is a Schema value too"
      )
    }))

  it.effect("sources and targets: normalized; registry entries take hosts and namespaces", () =>
    Effect.gen(function*() {
      const config = yield* SyncConfig.parse(
        `sync:\n` +
          `  - { source: index.docker.io/nginx, target: "localhost:5000/nginx" }\n` +
          `  - { source: ghcr.io, target: "localhost:5000", type: registry }\n` +
          `  - { source: bitnami, target: "localhost:5000/hub/bitnami", type: registry }\n`
      )
      assert.deepStrictEqual(config.sync.map((e) => [e.source, e.target]), [
        ["docker.io/library/nginx", "localhost:5000/nginx"],
        ["ghcr.io", "localhost:5000"],
        ["docker.io/bitnami", "localhost:5000/hub/bitnami"]
      ])
      assert.deepStrictEqual(SyncConfig.splitNamespace("ghcr.io/org/team"), {
        registry: "ghcr.io",
        namespace: "org/team"
      })
      assert.deepStrictEqual(SyncConfig.splitNamespace("ghcr.io"), { registry: "ghcr.io", namespace: undefined })
      assert.strictEqual(SyncConfig.targetOf(config.sync[0]!, "docker.io/library/nginx"), "localhost:5000/nginx")
      assert.isUndefined(SyncConfig.targetOf(config.sync[0]!, "docker.io/library/nginxx"))
      assert.strictEqual(SyncConfig.targetOf(config.sync[1]!, "ghcr.io/org/app"), "localhost:5000/org/app")
      assert.strictEqual(
        SyncConfig.targetOf(config.sync[2]!, "docker.io/bitnami/redis"),
        "localhost:5000/hub/bitnami/redis"
      )
      assert.isUndefined(SyncConfig.targetOf(config.sync[2]!, "docker.io/bitnamix/redis"))
    }))

  it.effect("credentials, tls and durations", () =>
    Effect.gen(function*() {
      const config = yield* SyncConfig.parse(
        `registries:\n` +
          `  ghcr.io: { credentials: { username: bot, passwordEnv: GHCR_TOKEN }, tls: insecure }\n` +
          `  quay.io: { ratelimit: { pulls: 10, per: 1h30m } }\n` +
          `  localhost:5000: { ratelimit: { pulls: 1, per: 90s } }\n` +
          minimal("").slice(0, -1)
      )
      assert.deepStrictEqual(config.registries["ghcr.io"], {
        credentials: { username: "bot", passwordEnv: "GHCR_TOKEN" },
        tls: "insecure"
      })
      assert.strictEqual(SyncConfig.perMillis(config.registries["quay.io"]!.ratelimit!), 5_400_000)
      assert.strictEqual(SyncConfig.perMillis(config.registries["localhost:5000"]!.ratelimit!), 90_000)
      assert.strictEqual(SyncConfig.perMillis({ pulls: 1, per: "1d" }), 86_400_000)
    }))

  describe("errors point at file:line:column", () => {
    it.effect("bad YAML", () =>
      Effect.gen(function*() {
        const error = yield* problems(`sync:\n  - source: a\n    target: [b\n`)
        assert.strictEqual(error.problems.length, 1)
        assert.deepInclude(error.problems[0], { line: 4, column: 1, path: "" })
        assert.match(error.message, /^sync\.yaml:4:1: YAML: Flow sequence/)
      }))

    it.effect("duplicate keys are a YAML error", () =>
      Effect.gen(function*() {
        const error = yield* problems(`sync: []\nsync: []\n`)
        assert.match(error.message, /^sync\.yaml:2:1: YAML: Map keys must be unique/)
      }))

    it.effect("an empty file", () =>
      Effect.gen(function*() {
        const error = yield* problems(`# nothing\n`)
        assert.strictEqual(
          error.message,
          "sync.yaml:1:1: the file is empty: expected the keys sync (and defaults, registries)"
        )
      }))

    it.effect("no entries", () =>
      Effect.gen(function*() {
        const error = yield* problems(`sync: []\n`)
        assert.strictEqual(error.message, "sync.yaml:1:7: sync: list at least one entry (source, target) to sync")
      }))

    it.effect("unknown keys, with a suggestion", () =>
      Effect.gen(function*() {
        const error = yield* problems(
          `defaults:\n  concurency: 3\nsyncs: []\nsync:\n  - source: a\n    target: b\n    tgas: {}\n    whatever: 1\n`
        )
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:2:3: defaults.concurency: unknown key "concurency" (did you mean "concurrency"?)`,
            `sync.yaml:3:1: syncs: unknown key "syncs" (did you mean "sync"?)`,
            `sync.yaml:7:5: sync[0].tgas: unknown key "tgas" (did you mean "tags"?)`,
            `sync.yaml:8:5: sync[0].whatever: unknown key "whatever" ` +
            `(known keys: source, target, type, tags, platforms, referrers, prune)`
          ].join("\n")
        )
        assert.deepStrictEqual(error.problems[0], {
          line: 2,
          column: 3,
          path: "defaults.concurency",
          message: `unknown key "concurency" (did you mean "concurrency"?)`
        })
      }))

    it.effect("wrong types, one message per problem (unions merged), with YAML hints", () =>
      Effect.gen(function*() {
        const error = yield* problems(
          `defaults:\n  referrers: yes\n  concurrency: 65\nregistries:\n  docker.io:\n    tls: maybe\n` +
            `    credentials: docker\n  quay.io: { credentials: { username: u, password: p, passwordEnv: P } }\n` +
            minimal(`    prune: 1\n    tags: { allow: [3.20] }\n    type: registri\n`)
        )
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:2:14: defaults.referrers: expected boolean, got "yes" (YAML 1.2 booleans are true and false)`,
            `sync.yaml:3:16: defaults.concurrency: must be a whole number from 1 to 64, got 65`,
            `sync.yaml:6:10: registries["docker.io"].tls: expected boolean or "insecure", got "maybe"`,
            `sync.yaml:7:18: registries["docker.io"].credentials: expected "docker-config" or ` +
            `{ username, passwordEnv }, got "docker"`,
            `sync.yaml:8:27: registries["quay.io"].credentials: a password is not written in the configuration ` +
            `(it would be journaled in the sync state): give passwordEnv, the name of an environment variable holding it`,
            `sync.yaml:12:12: sync[0].prune: expected boolean, got 1`,
            `sync.yaml:13:21: sync[0].tags.allow[0]: expected string, got 3.2 (YAML reads 3.20 as a number: put it in quotes)`,
            `sync.yaml:14:11: sync[0].type: expected "repository" or "registry", got "registri"`
          ].join("\n")
        )
      }))

    it.effect("structures of the wrong kind", () =>
      Effect.gen(function*() {
        const error = yield* problems(
          `sync: {}\ndefaults: 3\nregistries:\n  docker.io: { ratelimit: 5 }\n`
        )
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:1:7: sync: expected a list, got {}`,
            `sync.yaml:2:11: defaults: expected a mapping, got 3`,
            `sync.yaml:4:27: registries["docker.io"].ratelimit: expected a mapping, got 5`
          ].join("\n")
        )
        const top = yield* problems(`- a\n`)
        assert.strictEqual(top.message, `sync.yaml:1:1: expected a mapping, got ["a"]`)
      }))

    it.effect("missing keys point at the mapping", () =>
      Effect.gen(function*() {
        const error = yield* problems(`sync:\n  - source: a\n  - {}\n`)
        assert.deepStrictEqual(error.problems, [
          { line: 2, column: 5, path: "sync[0].target", message: `missing required key "target"` },
          { line: 3, column: 5, path: "sync[1].source", message: `missing required key "source"` },
          { line: 3, column: 5, path: "sync[1].target", message: `missing required key "target"` }
        ])
      }))

    it.effect("a bad regular expression", () =>
      Effect.gen(function*() {
        const error = yield* problems(minimal(`    tags:\n      allow: ["ok", "^3\\\\.2["]\n      deny: ["(x"]\n`))
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:5:21: sync[0].tags.allow[1]: invalid regular expression "^3\\.2[": unterminated character class`,
            `sync.yaml:6:14: sync[0].tags.deny[0]: invalid regular expression "(x": unterminated group`
          ].join("\n")
        )
      }))

    it.effect("a bad semver range", () =>
      Effect.gen(function*() {
        const error = yield* problems(minimal(`    tags: { semver: "not a range" }\n`))
        assert.strictEqual(
          error.message,
          `sync.yaml:4:21: sync[0].tags.semver: invalid semver range "not a range" ` +
            `(examples: ">=3.19", "^1.2", "~2.4.0", ">=1.0 <2.0")`
        )
      }))

    it.effect("a bad duration and a bad pull count", () =>
      Effect.gen(function*() {
        const error = yield* problems(
          `registries:\n  docker.io:\n    ratelimit: { pulls: 0, per: 6x }\n  quay.io: { ratelimit: { pulls: 5, per: 0s } }\n` +
            minimal("").slice(0, -1)
        )
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:3:25: registries["docker.io"].ratelimit.pulls: must be a whole number of at least 1, got 0`,
            `sync.yaml:3:33: registries["docker.io"].ratelimit.per: invalid duration "6x": ` +
            `expected a number and a unit s, m, h or d (90s, 30m, 6h, 1d, 1h30m)`,
            `sync.yaml:4:42: registries["quay.io"].ratelimit.per: invalid duration "0s": ` +
            `expected a number and a unit s, m, h or d (90s, 30m, 6h, 1d, 1h30m)`
          ].join("\n")
        )
      }))

    it.effect("a registries key that is not a host points at the key", () =>
      Effect.gen(function*() {
        const error = yield* problems(`registries:\n  docker.io: {}\n  not a host: {}\n` + minimal("").slice(0, -1))
        assert.strictEqual(
          error.message,
          `sync.yaml:3:3: registries["not a host"]: "not a host" is not a registry host ` +
            `(expected host[:port], e.g. docker.io or mirror.local:5000)`
        )
      }))

    it.effect("bad references, a tag or a digest in a source, a registry where a repository is wanted", () =>
      Effect.gen(function*() {
        const digest = `sha256:${"a".repeat(64)}`
        const error = yield* problems(
          `sync:\n` +
            `  - source: alpine:3.20\n    target: mirror.local:5000/alpine\n` +
            `  - source: ghcr.io/Org/App\n    target: mirror.local:5000/app\n` +
            `  - source: "ghcr.io/app@${digest}"\n    target: mirror.local:5000/app\n` +
            `  - source: ghcr.io\n    target: mirror.local:5000/app\n` +
            `  - source: ghcr.io/app\n    target: ghcr.io/app\n` +
            `  - source: quay.io/org:v1\n    target: mirror.local:5000\n    type: registry\n`
        )
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:2:13: sync[0].source: "alpine:3.20" names a tag (:3.20): give the repository alone ` +
            `(choose tags with "tags")`,
            `sync.yaml:4:13: sync[1].source: invalid reference "ghcr.io/Org/App": the repository must be lower-case ` +
            `(offending part: "Org/App")`,
            `sync.yaml:6:13: sync[2].source: "ghcr.io/app@${digest}" names a digest: give the repository alone ` +
            `(choose tags with "tags")`,
            `sync.yaml:8:13: sync[3].source: "ghcr.io" is a registry, not a repository: add the repository ` +
            `(ghcr.io/name), or set type: registry`,
            `sync.yaml:11:13: sync[4].target: the target is the source (ghcr.io/app)`,
            `sync.yaml:12:13: sync[5].source: "quay.io/org:v1" names a tag (:v1): give the repository alone ` +
            `(choose tags with "tags")`
          ].join("\n")
        )
      }))

    it.effect("bad platforms", () =>
      Effect.gen(function*() {
        const error = yield* problems(
          `defaults: { platforms: [] }\n` + minimal(`    platforms: [linux/amd64, linux]\n`)
        )
        assert.strictEqual(
          error.message,
          [
            `sync.yaml:1:24: defaults.platforms: list at least one platform (leave the key out to copy every platform)`,
            `sync.yaml:5:30: sync[0].platforms[1]: invalid platform "linux": expected os/arch[/variant], e.g. linux/arm64`
          ].join("\n")
        )
      }))
  })

  describe("load", () => {
    const withFile = <A, E, R>(text: string, f: (file: string) => Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-sync-config-"))),
        (dir) => {
          const file = path.join(dir, "sync.yaml")
          fs.writeFileSync(file, text)
          return f(file)
        },
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )

    it.effect("reads a file; problems name it", () =>
      Effect.gen(function*() {
        const config = yield* withFile(example, SyncConfig.load)
        assert.strictEqual(config.sync.length, 2)
        const error = yield* withFile(
          `sync:\n  - source: alpine\n    target: b\n    tags: { allow: ["["] }\n`,
          (file) => Effect.map(Effect.flip(SyncConfig.load(file)), (e) => [file, e] as const)
        )
        assert.strictEqual(
          error[1].message,
          `${error[0]}:4:21: sync[0].tags.allow[0]: invalid regular expression "[": unterminated character class`
        )
      }).pipe(Effect.provide(NodeFileSystem.layer)))

    it.effect("an unreadable file is an error naming it", () =>
      Effect.gen(function*() {
        const missing = path.join(os.tmpdir(), "ocidist-sync-no-such-dir", "sync.yaml")
        const error = yield* Effect.flip(SyncConfig.load(missing))
        assert.strictEqual(error._tag, "SyncConfigError")
        assert.strictEqual(error.message, `${missing}: cannot read the configuration: no such file`)
        assert.deepStrictEqual(error.problems, [
          { line: 0, column: 0, path: "", message: "cannot read the configuration: no such file" }
        ])
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  })
})
