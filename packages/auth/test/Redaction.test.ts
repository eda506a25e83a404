// Secrets never reach spans (names, attributes, events, exits) or logs, on success and on failure.
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Authenticator, Credentials, Login, Scope } from "@ocidist/auth"
import { DockerRegistry, TokenServer } from "@ocidist/testing"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"

interface Recorded {
  name: string
  attributes: Map<string, unknown>
  events: Array<unknown>
  exit: string
}

const recordingTracer = (spans: Array<Recorded>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const recorded: Recorded = { name, attributes: new Map(), events: [], exit: "" }
      spans.push(recorded)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `${spans.length}`,
        traceId: "t",
        parent,
        context: context as Context.Context<never>,
        status: { _tag: "Started", startTime },
        attributes: recorded.attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (_end, exit) => {
          // Successful exits hold live values (HTTP responses); failures are what could carry a secret.
          recorded.exit = Exit.isFailure(exit) ? String(exit.cause) + JSON.stringify(exit.cause) : "success"
        },
        attribute: (key, value) => {
          recorded.attributes.set(key, value)
        },
        event: (name, _time, attributes) => {
          recorded.events.push({ name, attributes })
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

const dump = (spans: ReadonlyArray<Recorded>, logs: ReadonlyArray<string>) =>
  JSON.stringify(spans.map((s) => ({ ...s, attributes: Object.fromEntries(s.attributes) }))) + logs.join("\n")

describe("redaction", () => {
  it.scopedLive("token exchange: no password or token in spans or logs", () =>
    Effect.gen(function*() {
      const spans: Array<Recorded> = []
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const server = yield* TokenServer.start({ postMode: "not-found" })
      const run = Effect.gen(function*() {
        const good = yield* Authenticator.make({ oauth2: true }).pipe(
          Effect.provideService(
            Credentials.Credentials,
            Credentials.fromEntries({ "r.io": Credentials.basic("testuser", "testpassword") })
          )
        )
        const challenge = `Bearer realm="${server.url}",service="${server.service}",scope="repository:a:pull"`
        const target = { registry: "r.io", scopes: [Scope.pull("a")], insecure: true }
        const header = yield* good.authorize(target, [challenge])
        const bad = yield* Authenticator.make().pipe(
          Effect.provideService(
            Credentials.Credentials,
            Credentials.fromEntries({ "r.io": Credentials.basic("testuser", "wrong-pass-xyz") })
          )
        )
        yield* Effect.flip(bad.authorize(target, [challenge]))
        return Redacted.value(Option.getOrThrow(header)).slice("Bearer ".length)
      }).pipe(Effect.withSpan("test"))
      const token = yield* run.pipe(
        Effect.withTracer(recordingTracer(spans)),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const text = dump(spans, logs)
      assert.isAbove(spans.length, 3)
      assert.include(text, "Authenticator.exchange")
      assert.include(text, "http.request.header.authorization")
      for (
        const secret of [
          "testpassword",
          "wrong-pass-xyz",
          token,
          Buffer.from("testuser:testpassword").toString("base64")
        ]
      ) {
        assert.notInclude(text, secret)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("login: no password in spans", () =>
    Effect.gen(function*() {
      const spans: Array<Recorded> = []
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const writer = registry.writer!
      yield* Login.verify({
        registry: registry.host,
        credential: new Credentials.Basic({ username: writer.username, password: Redacted.make(writer.password) })
      }).pipe(Effect.withTracer(recordingTracer(spans)))
      yield* Effect.flip(Login.verify({
        registry: registry.host,
        credential: new Credentials.Basic({ username: writer.username, password: Redacted.make("wrong-login-pw") })
      })).pipe(Effect.withTracer(recordingTracer(spans)))
      const text = dump(spans, [])
      assert.include(text, "Login.verify")
      assert.notInclude(text, writer.password)
      assert.notInclude(text, "wrong-login-pw")
    }).pipe(Effect.provide(Layer.merge(NodeHttpClient.layerUndici, NodeContext.layer))))
})
