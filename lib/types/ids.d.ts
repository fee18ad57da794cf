// Ids: what a mint sends, what validate() answers, the two id grammars and their fields, and the
// functions that check and split an id without a client. Shared by both entries.

/** Entity codes the ChittyID service accepts. */
export type EntityType = 'PEO' | 'PLACE' | 'PROP' | 'EVNT' | 'AUTH' | 'INFO' | 'FACT' | 'CONTEXT' | 'ACTOR'

/** What `mint()` sends; the object is serialized as the JSON body as given. */
export interface MintRequest {
  entity: EntityType | (string & {})
  name?: string
  metadata?: Record<string, unknown>
  [extra: string]: unknown
}

/**
 * What `validate()` resolves to. The service never makes it reject (a failure is an answer
 * with `error`); it rejects only for the caller: bad options (TypeError), an aborted signal
 * (AbortError), a closed client (`ECLIENTCLOSED`).
 */
export interface ValidationResult {
  valid: boolean
  chittyId?: string
  entity?: string
  /**
   * The service's own reason when it answers "not valid" and gives one (`"Invalid checksum:
   * expected 41, got 42"` from the deployed service); otherwise why the answer is not the
   * service's verdict: a service error status, a transport failure, an open circuit, a
   * rate-limit pause (then `valid` is the format check), or an id refused without a request.
   */
  error?: string
  /**
   * A code to branch on beside `error`: `"EAUTH"` when the service refused the credentials
   * (401/403: the answer says nothing about the id), `"EPLACEHOLDER"` when the id is a
   * placeholder the deployed service issued instead of minting.
   */
  errorCode?: 'EAUTH' | 'EPLACEHOLDER'
  /**
   * The deployed service, asked to validate one of its placeholders, may mint a real id for it
   * there and then (answering `replaced: true`): that id, well-formed, with `valid: false` and
   * `errorCode: "EPLACEHOLDER"` for the placeholder itself. The service keeps no record to give
   * it again, so keep it from this answer.
   */
  replacedBy?: string
  /**
   * `true` when this is a cached answer past its TTL, served because the service could not
   * be reached (transport failure, timeout, open circuit, 5xx...) within `cache.staleIfErrorMs`.
   */
  stale?: true
}

/**
 * The id grammars: `"v1"` (`VV-G-LLL-SSSS-T-YM-C-X`), `"deployed"` (the service at id.chitty.cc:
 * `VV-G-LLL-SSSS-T-YYMM-C-XX` with its mod-97 check pair), or `"any"` (either).
 */
export type ChittyIDGrammar = 'any' | 'v1' | 'deployed'

/** Narrows `validateFormat`/`parse` to one grammar; absent = either. */
export interface ChittyIDGrammarOptions {
  grammar?: ChittyIDGrammar
}

/** The fields of a well-formed v1 id `VV-G-LLL-SSSS-T-YM-C-X`. */
export interface ParsedChittyID {
  /** Present but not enumerable, so the object serializes and compares as v1's did. */
  readonly grammar?: 'v1'
  version: string
  generation: string
  location: string
  sequence: string
  entityType: string
  yearMonth: string
  check: string
  extension: string
}

/**
 * The fields of a well-formed deployed id `VV-G-LLL-SSSS-T-YYMM-C-XX`, named as the service
 * names them (its `components`).
 */
export interface ParsedDeployedChittyID {
  grammar: 'deployed'
  /** VV, two digits. */
  version: string
  /** G, 1-9. */
  region: string
  /** LLL, three letters. */
  jurisdiction: string
  /** SSSS, four digits. */
  sequential: string
  entityType: 'P' | 'L' | 'T' | 'E' | 'A'
  /** YYMM. */
  yearMonth: string
  /** C, 0-5. */
  trustLevel: string
  /** XX, the check pair. */
  checksum: string
}

/** The id grammar check (both grammars, or `options.grammar`), without a client. */
export declare function validateFormat(id: unknown, options?: ChittyIDGrammarOptions): boolean

/** `ChittyIDClient.parse()`, without a client. */
export declare function parse(id: unknown, options: { grammar: 'v1' }): ParsedChittyID | null
export declare function parse(id: unknown, options: { grammar: 'deployed' }): ParsedDeployedChittyID | null
export declare function parse(
  id: unknown,
  options?: ChittyIDGrammarOptions,
): ParsedChittyID | ParsedDeployedChittyID | null
