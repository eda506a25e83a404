import { assert, describe, expect, it } from "@effect/vitest"
import { Challenge, Scope } from "@ocidist/auth"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

const parseOk = (header: string): ReadonlyArray<Challenge.Challenge> => {
  const result = Challenge.parse(header)
  if (Either.isLeft(result)) throw new Error(`unexpected parse failure: ${result.left.message}`)
  return result.right
}

const bearerOf = (header: string): Challenge.Bearer => {
  const [first] = parseOk(header)
  assert.strictEqual(first?._tag, "Bearer")
  return first as Challenge.Bearer
}

describe("Challenge.parse: real registries", () => {
  const table: ReadonlyArray<{
    readonly name: string
    readonly header: string
    readonly realm: string
    readonly service?: string
    readonly scope?: string
  }> = [
    {
      name: "Docker Hub",
      header:
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/ubuntu:pull\"",
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
      scope: "repository:library/ubuntu:pull"
    },
    {
      name: "GHCR",
      header: "Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\",scope=\"repository:octo/app:pull\"",
      realm: "https://ghcr.io/token",
      service: "ghcr.io",
      scope: "repository:octo/app:pull"
    },
    {
      name: "Harbor",
      header:
        "Bearer realm=\"https://harbor.example.com/service/token\",service=\"harbor-registry\",scope=\"repository:library/nginx:pull,push\"",
      realm: "https://harbor.example.com/service/token",
      service: "harbor-registry",
      scope: "repository:library/nginx:pull,push"
    },
    {
      name: "Quay",
      header: "Bearer realm=\"https://quay.io/v2/auth\",service=\"quay.io\",scope=\"repository:coreos/etcd:pull\"",
      realm: "https://quay.io/v2/auth",
      service: "quay.io",
      scope: "repository:coreos/etcd:pull"
    },
    {
      name: "GitLab",
      header:
        "Bearer realm=\"https://gitlab.com/jwt/auth\",service=\"container_registry\",scope=\"repository:group/sub/project:push,pull\"",
      realm: "https://gitlab.com/jwt/auth",
      service: "container_registry",
      scope: "repository:group/sub/project:push,pull"
    },
    {
      name: "ACR without scope",
      header: "Bearer realm=\"https://example.azurecr.io/oauth2/token\",service=\"example.azurecr.io\"",
      realm: "https://example.azurecr.io/oauth2/token",
      service: "example.azurecr.io"
    },
    {
      name: "distribution 2.8 with a port in the realm",
      header:
        "Bearer realm=\"http://127.0.0.1:5001/token\",service=\"ocidist-test-registry\",scope=\"repository:public/small:pull\"",
      realm: "http://127.0.0.1:5001/token",
      service: "ocidist-test-registry",
      scope: "repository:public/small:pull"
    },
    {
      name: "unquoted values (lenient) and spaces",
      header: "bearer  realm=https://r.example/token , service = reg ,scope=\"repository:a/b:pull\"",
      realm: "https://r.example/token",
      service: "reg",
      scope: "repository:a/b:pull"
    }
  ]
  for (const row of table) {
    it(row.name, () => {
      const bearer = bearerOf(row.header)
      assert.strictEqual(bearer.realm, row.realm)
      assert.strictEqual(bearer.service, row.service)
      assert.strictEqual(bearer.scope, row.scope)
    })
  }

  it("ECR answers Basic", () => {
    const [basic] = parseOk(
      "Basic realm=\"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/\",service=\"ecr.amazonaws.com\""
    )
    assert.strictEqual(basic?._tag, "Basic")
    assert.strictEqual((basic as Challenge.Basic).realm, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/")
    assert.strictEqual((basic as Challenge.Basic).params["service"], "ecr.amazonaws.com")
  })

  it("distribution htpasswd mode", () => {
    const [basic] = parseOk("Basic realm=\"basic-realm\"")
    expect(basic).toMatchObject({ _tag: "Basic", realm: "basic-realm" })
  })

  it("insufficient_scope error with several scopes", () => {
    const bearer = bearerOf(
      "Bearer realm=\"https://auth.example/token\",service=\"svc\",scope=\"repository:a:pull,push repository:b:pull\",error=\"insufficient_scope\",error_description=\"push denied\""
    )
    assert.strictEqual(bearer.error, "insufficient_scope")
    assert.strictEqual(bearer.errorDescription, "push denied")
    assert.deepStrictEqual(bearer.scopes.map(Scope.format), ["repository:a:pull,push", "repository:b:pull"])
  })
})

describe("Challenge.parse: RFC 9110 grammar", () => {
  it("several challenges in one header (RFC 9110 example)", () => {
    const challenges = parseOk(
      "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\""
    )
    assert.strictEqual(challenges.length, 2)
    expect(challenges[0]).toMatchObject({
      _tag: "Unknown",
      scheme: "Newauth",
      params: { realm: "apps", type: "1", title: "Login to \"apps\"" }
    })
    expect(challenges[1]).toMatchObject({ _tag: "Basic", realm: "simple" })
  })

  it("scheme and parameter names are case-insensitive", () => {
    const bearer = bearerOf("BEARER Realm=\"https://x/t\", SERVICE=\"s\"")
    assert.strictEqual(bearer.realm, "https://x/t")
    assert.strictEqual(bearer.service, "s")
  })

  it("commas and spaces inside quoted strings", () => {
    const bearer = bearerOf("Bearer realm=\"https://x/t\",scope=\"repository:a:pull,push repository:b:pull\"")
    assert.strictEqual(bearer.scope, "repository:a:pull,push repository:b:pull")
    assert.strictEqual(bearer.scopes.length, 2)
  })

  it("backslash escapes", () => {
    const [c] = parseOk("Custom p=\"a\\\\b\\\"c\\d\"")
    expect(c).toMatchObject({ _tag: "Unknown", params: { p: "a\\b\"cd" } })
  })

  it("token68", () => {
    const challenges = parseOk(
      "Negotiate YIIB9gYGKwYBBQUCoIIB6jCCAeagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHg==, Basic"
    )
    expect(challenges[0]).toMatchObject({ _tag: "Unknown", scheme: "Negotiate" })
    assert.strictEqual((challenges[0] as Challenge.Unknown).token68?.endsWith("=="), true)
    expect(challenges[1]).toMatchObject({ _tag: "Basic", params: {} })
  })

  it("schemes without parameters and empty list elements", () => {
    const challenges = parseOk(" , Basic ,, Bearer realm=\"https://x/t\" ,")
    assert.deepStrictEqual(challenges.map(Challenge.scheme), ["Basic", "Bearer"])
  })

  it("an empty header has no challenges", () => {
    assert.deepStrictEqual(parseOk(""), [])
    assert.deepStrictEqual(parseOk("   "), [])
  })

  it("keeps unknown schemes", () => {
    const challenges = parseOk("Digest realm=\"r\", nonce=\"n\", Bearer realm=\"https://x/t\"")
    assert.deepStrictEqual(challenges.map((c) => c._tag), ["Unknown", "Bearer"])
  })

  it("a lone token after the scheme is a token68, as the grammar says", () => {
    expect(parseOk("Bearer realm=")[0]).toMatchObject({ _tag: "Unknown", scheme: "Bearer", token68: "realm=" })
  })

  it("the first of duplicated parameters wins", () => {
    assert.strictEqual(bearerOf("Bearer realm=\"https://a/t\", realm=\"https://b/t\"").realm, "https://a/t")
  })

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["Bearer realm=\"unterminated", "unterminated quoted string"],
    ["Bearer realm=\"a\", service=", "expected a value"],
    ["Bearer a b", "expected '='"],
    ["Bearer realm=\"a\" service=\"b\"", "expected ','"],
    ["=realm", "expected an authentication scheme"],
    ["\"Bearer\"", "expected an authentication scheme"],
    ["Bearer realm=\"a\u0001\"", "control character"],
    ["Bearer realm=ab\"c", "unexpected"],
    ["Bearer realm=\"x\\", "unterminated"]
  ]
  for (const [header, reason] of malformed) {
    it(`rejects ${JSON.stringify(header)}`, () => {
      const result = Challenge.parse(header)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "ChallengeParseError")
        assert.include(result.left.reason, reason)
        assert.include(result.left.message, "Malformed WWW-Authenticate header")
      }
    })
  }

  it("parseAll concatenates several header values", () => {
    const all = Challenge.parseAll(["Basic realm=\"a\"", "Bearer realm=\"https://x/t\""])
    assert.isTrue(Either.isRight(all))
    if (Either.isRight(all)) assert.strictEqual(all.right.length, 2)
  })
})

const tokenArb = FastCheck.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+\-.^_`|~]{0,8}$/)
const valueArb = FastCheck.string({ unit: FastCheck.constantFrom(..." !#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\"é") })

describe("Challenge.parse: properties", () => {
  it.prop("never throws on arbitrary input", [FastCheck.string({ unit: "binary" })], ([input]) => {
    const result = Challenge.parse(input)
    assert.isTrue(Either.isLeft(result) || Either.isRight(result))
  })

  it.prop(
    "never throws on header-like input",
    [FastCheck.string({ unit: FastCheck.constantFrom(..."Bearer realm=\"\\, \t=abc/:") })],
    ([input]) => {
      const result = Challenge.parse(input)
      assert.isTrue(Either.isLeft(result) || Either.isRight(result))
    }
  )

  it.prop(
    "format then parse gives the same parameters",
    [
      FastCheck.array(
        FastCheck.tuple(
          tokenArb.filter((s) => !["bearer", "basic"].includes(s.toLowerCase())),
          FastCheck.uniqueArray(FastCheck.tuple(tokenArb, valueArb), {
            selector: ([k]) => k.toLowerCase(),
            maxLength: 4
          })
        ),
        { maxLength: 3 }
      )
    ],
    ([challenges]) => {
      const built = challenges.map(([scheme, params]) =>
        new Challenge.Unknown({
          scheme,
          params: Object.fromEntries(params.map(([k, v]) => [k.toLowerCase(), v]))
        })
      )
      const header = built.map(Challenge.format).join(", ")
      const parsed = Challenge.parse(header)
      assert.isTrue(Either.isRight(parsed), header)
      if (Either.isRight(parsed)) {
        assert.deepStrictEqual(
          parsed.right.map((c) => ({ scheme: Challenge.scheme(c), params: c.params })),
          built.map((c) => ({ scheme: c.scheme, params: c.params }))
        )
      }
    }
  )
})
