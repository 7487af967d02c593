/**
 * The one check of a Docker image reference, wherever one enters: the
 * `--image` flags, versions.json (the schema's `imageReference` pattern is
 * IMAGE_REFERENCE_PATTERN, a test keeps them equal), pins, and every matrix
 * entry before it is emitted into a CI pipeline. Pure.
 *
 * Docker's grammar (distribution/reference): [host[:port]/]path[:tag][@sha256:<64 hex>],
 * path components lowercase; or a bare image id. As in Docker, a first
 * component is a registry host only with a "." or a port, or when it is
 * "localhost"; otherwise it is part of the (lowercase) path. Nothing can start
 * with "-" (it would be read as an option), and no whitespace or control
 * character can appear (it would split a YAML or shell line).
 */

const LABEL = String.raw`[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`;
const HOST = String.raw`(?:(?:localhost|${LABEL}(?:\.${LABEL})+)(?::[0-9]+)?/|${LABEL}:[0-9]+/)`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const NAME = String.raw`${HOST}?${COMPONENT}(?:/${COMPONENT})*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?`;
const ID = String.raw`(?:sha256:)?[0-9a-f]{12,64}`;

/** The pattern versions.schema.json holds for every image field (`$defs/imageReference`). */
export const IMAGE_REFERENCE_PATTERN = String.raw`^(?:${NAME}|${ID})$`;
/** Docker's name limit (255) + ":" and a 128-character tag + "@sha256:" and 64 hex digits. */
export const IMAGE_REFERENCE_MAX_LENGTH = 255 + 129 + 71;

const IMAGE_REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

/** Whether `ref` is an image reference (or image id) Docker would read as one. */
export function isImageReference(ref: string): boolean {
  return ref.length > 0 && ref.length <= IMAGE_REFERENCE_MAX_LENGTH && IMAGE_REFERENCE.test(ref);
}

/** A reference as it may be quoted in a message: bounded, control characters escaped by JSON. */
export function quoteReference(ref: string): string {
  return JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref) + (ref.length > 80 ? ` (${ref.length} characters)` : "");
}

export const IMAGE_REFERENCE_EXAMPLE = "registry.k8s.io/build-image/kube-cross:v1.15.5-1";
