import type { Suggestion } from "../../bindings/Suggestion";
import { Img } from "../../components/Img";
import { formatScore } from "../../lib/format";

type Props = {
  suggestions: Suggestion[];
  selectedRank: number | null;
  onSelect: (rank: number) => void;
  onAccept: (rank: number) => void;
  disabled: boolean;
};

/** The five ranked candidates; the "new individual" entry sits where the backend ranked it. */
export function Suggestions({ suggestions, selectedRank, onSelect, onAccept, disabled }: Props) {
  const sorted = [...suggestions].sort((a, b) => a.rank - b.rank);
  return (
    <ol class="suggestions">
      {sorted.map((s) => {
        const isNew = s.individualId == null;
        return (
          <li
            key={s.rank}
            data-testid="suggestion"
            data-rank={s.rank}
            data-individual-id={s.individualId == null ? "" : String(s.individualId)}
            class={`suggestion ${isNew ? "new" : ""} ${selectedRank === s.rank ? "selected" : ""}`}
            onClick={() => onSelect(s.rank)}
          >
            <kbd class="rank">{s.rank}</kbd>
            {isNew ? (
              <div class="sugg-body">
                <div class="sugg-title">New individual</div>
                <div class="muted">nothing in the catalogue is close enough</div>
              </div>
            ) : (
              <>
                <Img path={s.bestCrop} alt={`best crop of ${s.code ?? ""}`} class="best" />
                <div class="sugg-body">
                  <div class="sugg-title">
                    <strong>{s.code}</strong>
                    {s.name && <span> · {s.name}</span>}
                    {s.species && <span class="muted"> · {s.species}</span>}
                  </div>
                  <div class="strip">
                    {s.strip.slice(0, 8).map((p) => (
                      <Img key={p} path={p} alt="" class="strip-crop" />
                    ))}
                  </div>
                </div>
              </>
            )}
            <span class="score" title="similarity">
              {formatScore(s.score)}
            </span>
            <button
              type="button"
              class="accept"
              disabled={disabled}
              onClick={(e) => {
                e.stopPropagation();
                onAccept(s.rank);
              }}
            >
              {isNew ? "New…" : "Accept"}
            </button>
          </li>
        );
      })}
    </ol>
  );
}
