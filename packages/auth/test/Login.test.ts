import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expect, it } from "@effect/vitest"
import { Credentials, DockerConfig, Login } from "@ocidist/auth"
import { DockerRegistry } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import { makeHelpers } from "./support/helpers.js"

const platform = Effect.provide(Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici))

const b64 = (s: string) => Buffer.from(s).toString("base64")

const setup = (initial?: unknown) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped().pipe(Effect.orDie)
    const configPath = path.join(dir, "docker", "config.json")
    if (initial !== undefined) {
      yield* fs.makeDirectory(path.dirname(configPath)).pipe(Effect.orDie)
      yield* fs.writeFileString(configPath, JSON.stringify(initial)).pipe(Effect.orDie)
      yield* fs.chmod(configPath, 0o644).pipe(Effect.orDie)
    }
    const readConfig = fs.readFileString(configPath).pipe(Effect.orDie, Effect.map((s) => JSON.parse(s)))
    const mode = fs.stat(configPath).pipe(Effect.orDie, Effect.map((s) => s.mode & 0o777))
    const files = fs.readDirectory(path.dirname(configPath)).pipe(Effect.orDie)
    return { dir, configPath, readConfig, mode, files }
  })

describe("Login", () => {
  it.scopedLive("htpasswd registry: verifies, then writes auth atomically with mode 0600, keeping other keys", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const writer = registry.writer!
      const { configPath, files, mode, readConfig } = yield* setup({
        auths: { "other.io": { auth: b64("o:p") }, [`http://${registry.host}/v1/`]: { auth: b64("stale:x") } },
        psFormat: "table",
        proxies: { default: { httpProxy: "http://proxy:3128" } }
      })
      const result = yield* Login.login({
        registry: registry.host,
        credential: new Credentials.Basic({ username: writer.username, password: Redacted.make(writer.password) }),
        configPath
      })
      assert.deepStrictEqual(result, { path: configPath, key: registry.host, helper: Option.none() })
      const config = yield* readConfig
      assert.deepStrictEqual(config, {
        auths: {
          "other.io": { auth: b64("o:p") },
          [registry.host]: { auth: b64(`${writer.username}:${writer.password}`) }
        },
        psFormat: "table",
        proxies: { default: { httpProxy: "http://proxy:3128" } }
      })
      assert.strictEqual(yield* mode, 0o600)
      assert.deepStrictEqual(yield* files, ["config.json"], "no temp file left behind")
      // What was written is what the credentials source reads back.
      const service = yield* Credentials.dockerConfig({ path: configPath })
      expect(yield* service.get(registry.host)).toMatchObject({ _tag: "Basic", username: writer.username })
    }).pipe(platform))

  it.scopedLive("htpasswd registry: a wrong password is CredentialsRejected and nothing is written", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const { configPath, dir } = yield* setup()
      const error = yield* Effect.flip(Login.login({
        registry: registry.host,
        credential: new Credentials.Basic({ username: "testuser", password: Redacted.make("nope-secret") }),
        configPath
      }))
      expect(error).toMatchObject({ _tag: "CredentialsRejected", registry: registry.host })
      assert.notInclude(JSON.stringify(error), "nope-secret")
      const fs = yield* FileSystem.FileSystem
      assert.isFalse(yield* fs.exists(configPath).pipe(Effect.orDie))
      assert.deepStrictEqual(yield* fs.readDirectory(dir).pipe(Effect.orDie), [])
    }).pipe(platform))

  it.scopedLive("token registry: verifies through the token server; a wrong password is CredentialsRejected", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const writer = registry.writer!
      const { configPath, readConfig } = yield* setup()
      yield* Login.login({
        registry: registry.host,
        credential: new Credentials.Basic({ username: writer.username, password: Redacted.make(writer.password) }),
        configPath
      })
      const config = yield* readConfig
      assert.strictEqual(config.auths[registry.host].auth, b64(`${writer.username}:${writer.password}`))
      const stats = yield* registry.tokenServer!.stats
      assert.strictEqual(stats.issued, 1)
      const error = yield* Effect.flip(Login.verify({
        registry: registry.host,
        credential: new Credentials.Basic({ username: writer.username, password: Redacted.make("bad") })
      }))
      expect(error).toMatchObject({ _tag: "CredentialsRejected", credential: "Basic" })
    }).pipe(platform))

  it.scopedLive("token registry: an identity token is verified with the refresh-token grant", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const tokenServer = registry.tokenServer!
      const { refresh_token } = yield* Effect.promise(() =>
        fetch(tokenServer.url, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "password",
            username: "testuser",
            password: "testpassword",
            client_id: "test",
            service: tokenServer.service
          })
        }).then((r) => r.json() as Promise<{ refresh_token: string }>)
      )
      yield* tokenServer.resetStats
      const { configPath, readConfig } = yield* setup()
      yield* Login.login({
        registry: registry.host,
        credential: new Credentials.IdentityToken({ token: Redacted.make(refresh_token) }),
        configPath
      })
      assert.strictEqual((yield* tokenServer.stats).refreshIssued, 1)
      assert.deepStrictEqual((yield* readConfig).auths[registry.host], { identitytoken: refresh_token })
    }).pipe(platform))

  it.scopedLive("a registry without auth accepts any login; an unreachable one is a LoginError", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "anon" })
      yield* Login.verify({
        registry: registry.host,
        credential: new Credentials.Basic({ username: "u", password: Redacted.make("p") })
      })
      const error = yield* Effect.flip(Login.verify({
        registry: "127.0.0.1:1",
        credential: new Credentials.Basic({ username: "u", password: Redacted.make("p") })
      }))
      // a loopback registry is tried over HTTPS first (a refused connection is no sign of plain HTTP)
      expect(error).toMatchObject({ _tag: "LoginError", url: "https://127.0.0.1:1/v2/" })
      // the socket error is kept as the cause; never the request, whose headers may carry credentials
      assert.instanceOf(error.cause, Error)
      assert.notProperty(error.cause as object, "request")
      const https = yield* Effect.flip(Login.verify({
        registry: registry.host,
        insecure: false,
        credential: new Credentials.Basic({ username: "u", password: Redacted.make("p") })
      }))
      expect(https).toMatchObject({ _tag: "LoginError", url: `https://${registry.host}/v2/` })
      // plainHttp: false is what insecure: false was
      const forced = yield* Effect.flip(Login.verify({
        registry: registry.host,
        plainHttp: false,
        credential: new Credentials.Basic({ username: "u", password: Redacted.make("p") })
      }))
      expect(forced).toMatchObject({ _tag: "LoginError", url: `https://${registry.host}/v2/` })
    }).pipe(platform))

  it.scopedLive("credsStore: login stores through the helper, the file keeps an empty entry; logout erases", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const writer = registry.writer!
      const helpers = yield* makeHelpers
      const { configPath, readConfig } = yield* setup({ credsStore: "store", auths: {} })
      const result = yield* Login.login({
        registry: registry.host,
        credential: new Credentials.Basic({ username: writer.username, password: Redacted.make(writer.password) }),
        configPath,
        helper: { env: helpers.env }
      })
      assert.deepStrictEqual(result.helper, Option.some("store"))
      assert.deepStrictEqual(yield* readConfig, { credsStore: "store", auths: { [registry.host]: {} } })
      const fs = yield* FileSystem.FileSystem
      const log = yield* fs.readFileString(helpers.log).pipe(Effect.orDie)
      assert.include(log, `"ServerURL":"${registry.host}"`)
      const service = yield* Credentials.dockerConfig({ path: configPath, helper: { env: helpers.env } })
      expect(yield* service.get(registry.host)).toMatchObject({ _tag: "Basic", username: writer.username })

      const out = yield* Login.logout({ registry: registry.host, configPath, helper: { env: helpers.env } })
      assert.deepStrictEqual(out, { path: configPath, removed: true })
      assert.deepStrictEqual(yield* readConfig, { credsStore: "store", auths: {} })
      assert.include(yield* fs.readFileString(helpers.log).pipe(Effect.orDie), `erase ${registry.host}`)
      expect(yield* service.get(registry.host)).toMatchObject({ _tag: "Anonymous" })
    }).pipe(platform))

  it.scoped("Docker Hub: stored under https://index.docker.io/v1/, logout removes every spelling", () =>
    Effect.gen(function*() {
      const { configPath, readConfig } = yield* setup({
        auths: { "docker.io": { auth: b64("old:o") }, "ghcr.io": { auth: b64("g:h") } }
      })
      const result = yield* Login.login({
        registry: "docker.io",
        credential: new Credentials.IdentityToken({ username: "me", token: Redacted.make("refresh") }),
        configPath,
        verify: false
      })
      assert.strictEqual(result.key, "https://index.docker.io/v1/")
      assert.deepStrictEqual((yield* readConfig).auths, {
        "ghcr.io": { auth: b64("g:h") },
        "https://index.docker.io/v1/": { auth: b64("me:"), identitytoken: "refresh" }
      })
      const service = yield* Credentials.dockerConfig({ path: configPath })
      expect(yield* service.get("registry-1.docker.io")).toMatchObject({ _tag: "IdentityToken", username: "me" })
      const out = yield* Login.logout({ registry: "index.docker.io", configPath })
      assert.isTrue(out.removed)
      assert.deepStrictEqual((yield* readConfig).auths, { "ghcr.io": { auth: b64("g:h") } })
      assert.isFalse((yield* Login.logout({ registry: "docker.io", configPath })).removed)
    }).pipe(platform))

  it.scoped("writes through a symlinked config file and creates a missing directory", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { configPath, dir } = yield* setup({ auths: {} })
      const link = path.join(dir, "link.json")
      yield* fs.symlink(configPath, link).pipe(Effect.orDie)
      yield* DockerConfig.write(link, { auths: { "a.io": {} } })
      assert.isTrue((yield* fs.stat(link).pipe(Effect.orDie)).type === "File")
      assert.strictEqual(yield* fs.readLink(link).pipe(Effect.orDie), configPath)
      assert.include(yield* fs.readFileString(configPath).pipe(Effect.orDie), "a.io")
      const nested = path.join(dir, "new", "deeper", "config.json")
      yield* DockerConfig.write(nested, {})
      assert.strictEqual((yield* fs.stat(path.dirname(nested)).pipe(Effect.orDie)).mode & 0o777, 0o700)
    }).pipe(platform))
})
