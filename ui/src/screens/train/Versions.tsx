import type { PackVersionInfo } from "../../bindings/PackVersionInfo";
import { formatScore, formatTaken } from "../../lib/format";

type Props = {
  versions: PackVersionInfo[];
  /** Disabled while a run or a switch is under way. */
  disabled: boolean;
  /** `null`: back to the active version's parent. */
  onUse: (version: string | null) => void;
};

/** The catalogue's pack versions, with the way back to an earlier one. */
export function VersionList({ versions, disabled, onUse }: Props) {
  if (versions.length === 0) return <p class="muted">No versions yet.</p>;
  return (
    <table class="versions" data-testid="train-versions">
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Trained from</th>
          <th scope="col">Created</th>
          <th scope="col">MAP@5 before → after</th>
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr
            key={v.version}
            class={v.active ? "active" : ""}
            aria-current={v.active ? "true" : undefined}
            data-testid="train-version"
            data-version={v.version}
          >
            <th scope="row">
              {v.version} {v.active && <span class="tag active">active</span>}
            </th>
            <td>{v.parent ?? <span class="muted">original pack</span>}</td>
            <td class="num">{formatTaken(v.createdAt)}</td>
            <td class="num">
              {v.map5Before == null && v.map5After == null
                ? "—"
                : `${formatScore(v.map5Before)} → ${formatScore(v.map5After)}`}
            </td>
            <td>
              {v.active ? (
                v.parent != null && (
                  <button type="button" data-testid="train-rollback" disabled={disabled} onClick={() => onUse(null)}>
                    Roll back to {v.parent}
                  </button>
                )
              ) : (
                <button
                  type="button"
                  data-testid="train-use-version"
                  disabled={disabled}
                  onClick={() => onUse(v.version)}
                >
                  Use this version
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
