export interface UserLike {
  readonly username: string
  readonly password: string
  readonly readOnly?: boolean
}

export const defaultUsers: ReadonlyArray<UserLike> = [
  { username: "testuser", password: "testpassword" },
  { username: "reader", password: "readerpass", readOnly: true }
]

export const defaultService = "ocidist-test-registry"
export const defaultIssuer = "ocidist-test-issuer"
