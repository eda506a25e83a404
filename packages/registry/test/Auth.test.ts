/**
 * Access control of the embedded registry with real clients: Basic users (read-only and full), and Bearer
 * tokens from its own token endpoint with per-repository scopes and anonymous pull. Raw HTTP for the exact
 * statuses and challenges, our client (with the real `Authenticator`) and skopeo (`--creds`) for the
 * flows, and the debug logs checked for credentials.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import * as NodeRegistry from "../src/NodeRegistry.js"
import type * as Registry from "../src/Registry.js"
import { capture, client, digest, pushImage, readAll, ref, skopeoOk, type User } from "./support/harness.js"

const alice: User = { username: "alice", password: "alice-Secret-9f3k" }
const bob: User & { readonly readOnly: true } = { username: "bob", password: "bob-Secret-2m7q", readOnly: true }
const users = [alice, bob]

const basic = (user: User) => `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`

const errorCode = (text: string): string => (JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]!.code

const token = (registry: Registry.Running, scope: string, user?: User) =>
  Effect.gen(function*() {
    const res = yield* Tools.request(
      `${registry.url}/token?service=ocidist-registry&scope=${encodeURIComponent(scope)}`,
      { headers: user === undefined ? {} : { authorization: basic(user) } }
    )
    assert.strictEqual(res.status, 200, res.text)
    const body = JSON.parse(res.text) as { token: string; access_token: string; expires_in: number }
    assert.strictEqual(body.token, body.access_token)
    assert.isAbove(body.expires_in, 0)
    return body.token
  })

const fixtureImage = (dir: string, seed: string) =>
  Effect.gen(function*() {
    const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed })
    const layout = path.join(dir, `layout-${seed.replace(/\W/g, "-")}`)
    yield* Fixtures.writeLayout(layout, [{ tag: "v1", root: image }])
    return { image, layout }
  })

describe("basic auth", () => {
  it.scopedLive("anonymous and wrong passwords get 401 with a Basic challenge; read-only users pull, not push", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-auth-")
      const registry = yield* NodeRegistry.start({ auth: { type: "basic", users } })
      const { image } = yield* fixtureImage(dir, "registry/auth/basic")
      const full = yield* client(registry, { user: alice })
      yield* pushImage(full, registry, "private/app", "v1", image)

      const manifestUrl = `${registry.url}/v2/private/app/manifests/v1`
      const anonymous = yield* Tools.request(manifestUrl)
      assert.strictEqual(anonymous.status, 401)
      assert.match(anonymous.header("www-authenticate") ?? "", /^Basic realm="/)
      assert.strictEqual(errorCode(anonymous.text), "UNAUTHORIZED")
      const ping = yield* Tools.request(`${registry.url}/v2/`)
      assert.strictEqual(ping.status, 401, "the base endpoint tells clients to authenticate")
      assert.match(ping.header("www-authenticate") ?? "", /^Basic /)
      const pingAuthed = yield* Tools.request(`${registry.url}/v2/`, { headers: { authorization: basic(bob) } })
      assert.strictEqual(pingAuthed.status, 200)

      const wrong = yield* Tools.request(manifestUrl, {
        headers: { authorization: basic({ username: "alice", password: "not-her-password" }) }
      })
      assert.strictEqual(wrong.status, 401)
      assert.strictEqual(errorCode(wrong.text), "UNAUTHORIZED")
      const unknownUser = yield* Tools.request(manifestUrl, {
        headers: { authorization: basic({ username: "eve", password: alice.password }) }
      })
      assert.strictEqual(unknownUser.status, 401)

      const readOnly = yield* Tools.request(manifestUrl, {
        headers: { authorization: basic(bob), accept: Fixtures.MediaType.ociManifest }
      })
      assert.strictEqual(readOnly.status, 200)
      assert.strictEqual(readOnly.header("docker-content-digest"), image.manifestDigest)
      const denied = yield* Tools.request(`${registry.url}/v2/private/app/blobs/uploads/`, {
        method: "POST",
        headers: { authorization: basic(bob) }
      })
      assert.strictEqual(denied.status, 403)
      assert.strictEqual(errorCode(denied.text), "DENIED")
      const deleteDenied = yield* Tools.request(`${registry.url}/v2/private/app/manifests/${image.manifestDigest}`, {
        method: "DELETE",
        headers: { authorization: basic(bob) }
      })
      assert.strictEqual(deleteDenied.status, 403)

      // our client: bob pulls and is refused a push; alice pushed above
      const reader = yield* client(registry, { user: bob })
      const pulled = yield* reader.manifests.get(ref(registry, "private/app:v1"))
      assert.strictEqual(pulled.digest, image.manifestDigest)
      const layer = yield* readAll(reader.blobs.stream(ref(registry, "private/app"), digest(image.layers[0]!.digest)))
      assert.strictEqual(layer.length, image.layers[0]!.size)
      const refused = yield* Effect.flip(reader.manifests.put(ref(registry, "private/app:v2"), {
        bytes: image.manifest,
        mediaType: image.mediaType
      }))
      assert.strictEqual(refused._tag, "Denied")
      const nobody = yield* client(registry)
      const anonymousRefused = yield* Effect.flip(nobody.manifests.get(ref(registry, "private/app:v1")))
      assert.strictEqual(anonymousRefused._tag, "Unauthorized")
    }))

  it.scopedLive("skopeo pushes with --dest-creds of a full user, reads with a read-only user, is refused otherwise", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-auth-")
      const registry = yield* NodeRegistry.start({ auth: { type: "basic", users } })
      const { image, layout } = yield* fixtureImage(dir, "registry/auth/skopeo-basic")
      const target = `docker://${registry.host}/skopeo/basic:v1`

      const asBob = yield* Tools.skopeo([
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-creds",
        `${bob.username}:${bob.password}`,
        `oci:${layout}:v1`,
        target
      ])
      assert.notStrictEqual(asBob.exitCode, 0, "a read-only user cannot push")
      yield* skopeoOk([
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-creds",
        `${alice.username}:${alice.password}`,
        `oci:${layout}:v1`,
        target
      ])

      const raw = yield* skopeoOk([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        `${bob.username}:${bob.password}`,
        target
      ])
      assert.isTrue(Buffer.from(raw.stdout).equals(Buffer.from(image.manifest)))
      const anonymous = yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", target])
      assert.notStrictEqual(anonymous.exitCode, 0)
      const wrong = yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", "--creds", "alice:wrong", target])
      assert.notStrictEqual(wrong.exitCode, 0)
    }))
})

describe("token auth", () => {
  it.scopedLive("challenges name the realm, service and scope; the token endpoint grants per user and repository", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-auth-")
      const registry = yield* NodeRegistry.start({ auth: { type: "token", users, anonymousPull: true } })
      const { image } = yield* fixtureImage(dir, "registry/auth/token")

      const uploadUrl = (repo: string) => `${registry.url}/v2/${repo}/blobs/uploads/`
      const challenged = yield* Tools.request(uploadUrl("team/a"), { method: "POST" })
      assert.strictEqual(challenged.status, 401)
      assert.strictEqual(
        challenged.header("www-authenticate"),
        `Bearer realm="${registry.url}/token",service="ocidist-registry",scope="repository:team/a:pull,push"`
      )
      const ping = yield* Tools.request(`${registry.url}/v2/`)
      assert.strictEqual(ping.status, 401)
      assert.strictEqual(
        ping.header("www-authenticate"),
        `Bearer realm="${registry.url}/token",service="ocidist-registry"`
      )

      // anonymous: pull is granted, push is not
      const anonymousToken = yield* token(registry, "repository:team/a:pull,push")
      const anonymousPush = yield* Tools.request(uploadUrl("team/a"), {
        method: "POST",
        headers: { authorization: `Bearer ${anonymousToken}` }
      })
      assert.strictEqual(anonymousPush.status, 401)
      assert.include(anonymousPush.header("www-authenticate") ?? "", `error="insufficient_scope"`)

      // alice: push to team/a, with a token that is worth nothing for team/b
      const aliceToken = yield* token(registry, "repository:team/a:pull,push", alice)
      const started = yield* Tools.request(uploadUrl("team/a"), {
        method: "POST",
        headers: { authorization: `Bearer ${aliceToken}` }
      })
      assert.strictEqual(started.status, 202)
      const otherRepo = yield* Tools.request(uploadUrl("team/b"), {
        method: "POST",
        headers: { authorization: `Bearer ${aliceToken}` }
      })
      assert.strictEqual(otherRepo.status, 401)
      assert.include(otherRepo.header("www-authenticate") ?? "", `scope="repository:team/b:pull,push"`)
      const otherPull = yield* Tools.request(`${registry.url}/v2/team/b/tags/list`, {
        headers: { authorization: `Bearer ${aliceToken}` }
      })
      assert.strictEqual(otherPull.status, 401, "a token for team/a does not pull team/b either")

      // bob asks for push and gets pull only
      const bobToken = yield* token(registry, "repository:team/a:pull,push", bob)
      const bobPush = yield* Tools.request(uploadUrl("team/a"), {
        method: "POST",
        headers: { authorization: `Bearer ${bobToken}` }
      })
      assert.strictEqual(bobPush.status, 401)
      assert.include(bobPush.header("www-authenticate") ?? "", "insufficient_scope")

      // a wrong password is refused at the endpoint; an unknown token at the registry
      const wrong = yield* Tools.request(
        `${registry.url}/token?service=ocidist-registry&scope=repository:team/a:pull`,
        {
          headers: { authorization: basic({ username: "alice", password: "nope" }) }
        }
      )
      assert.strictEqual(wrong.status, 401)
      const forged = yield* Tools.request(uploadUrl("team/a"), {
        method: "POST",
        headers: { authorization: `Bearer ${"0".repeat(64)}` }
      })
      assert.strictEqual(forged.status, 401)
      assert.include(forged.header("www-authenticate") ?? "", `error="invalid_token"`)

      // the catalog needs a full user's token
      const catalogAnonymous = yield* Tools.request(`${registry.url}/v2/_catalog`)
      assert.strictEqual(catalogAnonymous.status, 401)
      const catalogToken = yield* token(registry, "registry:catalog:*", alice)
      const catalog = yield* Tools.request(`${registry.url}/v2/_catalog`, {
        headers: { authorization: `Bearer ${catalogToken}` }
      })
      assert.strictEqual(catalog.status, 200)

      // our client: alice pushes, an anonymous client pulls, bob's and the anonymous client's pushes fail
      const writer = yield* client(registry, { user: alice })
      yield* pushImage(writer, registry, "team/a", "v1", image)
      const anonymous = yield* client(registry)
      const pulled = yield* anonymous.manifests.get(ref(registry, "team/a:v1"))
      assert.strictEqual(pulled.digest, image.manifestDigest)
      const bytes = yield* readAll(anonymous.blobs.stream(ref(registry, "team/a"), digest(image.layers[2]!.digest)))
      assert.strictEqual(bytes.length, image.layers[2]!.size)
      const anonymousPut = yield* Effect.flip(anonymous.manifests.put(ref(registry, "team/a:v2"), {
        bytes: image.manifest,
        mediaType: image.mediaType
      }))
      assert.include(["Unauthorized", "Denied"], anonymousPut._tag)
      const reader = yield* client(registry, { user: bob })
      const bobPut = yield* Effect.flip(reader.manifests.put(ref(registry, "team/a:v2"), {
        bytes: image.manifest,
        mediaType: image.mediaType
      }))
      assert.include(["Unauthorized", "Denied"], bobPut._tag)
      assert.strictEqual((yield* reader.manifests.head(ref(registry, "team/a:v1"))).digest, image.manifestDigest)
    }))

  it.scopedLive("skopeo gets tokens: pushes as a full user, pulls anonymously, is refused a push as read-only", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-auth-")
      const registry = yield* NodeRegistry.start({ auth: { type: "token", users, anonymousPull: true } })
      const { image, layout } = yield* fixtureImage(dir, "registry/auth/skopeo-token")
      const target = `docker://${registry.host}/skopeo/token:v1`

      yield* skopeoOk([
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-creds",
        `${alice.username}:${alice.password}`,
        `oci:${layout}:v1`,
        target
      ])
      const raw = yield* skopeoOk(["inspect", "--raw", "--tls-verify=false", target])
      assert.isTrue(Buffer.from(raw.stdout).equals(Buffer.from(image.manifest)))
      const out = path.join(dir, "out")
      yield* skopeoOk(["copy", "-q", "--src-tls-verify=false", target, `oci:${out}:v1`])

      const asBob = yield* Tools.skopeo([
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-creds",
        `${bob.username}:${bob.password}`,
        `oci:${layout}:v1`,
        `docker://${registry.host}/skopeo/bob:v1`
      ])
      assert.notStrictEqual(asBob.exitCode, 0)
    }))
})

describe("credentials in logs", () => {
  it.scopedLive("debug logs of the registry and of our client never carry passwords, Basic headers or tokens", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-auth-")
      const logs = capture()
      const { image } = yield* fixtureImage(dir, "registry/auth/logs")
      const secrets: Array<string> = [alice.password, bob.password, basic(alice).slice(6), basic(bob).slice(6)]
      for (const type of ["basic", "token"] as const) {
        const registry = yield* logs.provide(
          NodeRegistry.start({ auth: { type, users, anonymousPull: type === "token" } })
        )
        const writer = yield* logs.provide(client(registry, { user: alice }))
        yield* logs.provide(pushImage(writer, registry, "logged/app", "v1", image))
        const reader = yield* logs.provide(client(registry, { user: bob }))
        yield* logs.provide(reader.manifests.get(ref(registry, "logged/app:v1")))
        yield* logs.provide(
          Effect.flip(
            reader.manifests.put(ref(registry, "logged/app:v2"), { bytes: image.manifest, mediaType: image.mediaType })
          )
        )
        // failed attempts too
        yield* Tools.request(`${registry.url}/v2/logged/app/manifests/v1`, {
          headers: { authorization: basic({ username: "alice", password: "wrong-Pass-xyz" }) }
        })
        secrets.push("wrong-Pass-xyz")
        if (type === "token") {
          const issued = yield* token(registry, "repository:logged/app:pull,push", alice)
          secrets.push(issued)
          const used = yield* Tools.request(`${registry.url}/v2/logged/app/tags/list`, {
            headers: { authorization: `Bearer ${issued}` }
          })
          assert.strictEqual(used.status, 200)
        }
      }
      const requests = logs.requests()
      assert.isAbove(requests.length, 10, "the registry logs its requests at debug level")
      assert.isTrue(requests.some((r) => r.annotations["path"] === "/token"))
      for (const record of logs.records) {
        for (const secret of secrets) {
          assert.notInclude(record.text, secret, `a log record carries a credential: ${record.text}`)
        }
        assert.notMatch(record.text, /authorization/i)
      }
    }))
})
