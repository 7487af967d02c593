/**
 * The platforms a kubelet is built for, and the one parser of `--platform`.
 * Upstream builds node binaries for these Linux architectures only
 * (KUBE_SUPPORTED_NODE_PLATFORMS in hack/lib/golang.sh; 386 is a client
 * platform, never a kubelet one), and versions.schema.json pins exactly
 * these: a platform outside the list could be built but never pinned.
 */
import { UsageError } from "../errors.js";

export const KUBELET_PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm", "linux/ppc64le", "linux/s390x"] as const;
export const DEFAULT_PLATFORM = "linux/amd64";

/**
 * Parse `--platform linux/amd64,linux/arm64`: trimmed, duplicates dropped in
 * first-seen order. Only an absent flag means the default platform:
 * `--platform ''` is a mistake, not linux/amd64.
 */
export function parsePlatforms(input: string | undefined): string[] {
  if (input === undefined) return [DEFAULT_PLATFORM];
  const list = input
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((p) => !(KUBELET_PLATFORMS as readonly string[]).includes(p));
  if (!list.length || bad.length) {
    throw new UsageError(
      "E_PLATFORM",
      `expected platforms among ${KUBELET_PLATFORMS.join(", ")}, found ${JSON.stringify(bad.length ? bad.join(",") : input)}`,
      "pass e.g. --platform linux/amd64,linux/arm64 (kubelet is built for linux only)",
    );
  }
  return [...new Set(list)];
}
