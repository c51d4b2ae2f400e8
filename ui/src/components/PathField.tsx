import { useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import { pickFolder, pickSaveFile, toAppError } from "../ipc";

type Props = {
  label: string;
  value: string;
  onInput: (v: string) => void;
  /** Enter in the field. */
  onSubmit?: () => void;
  inputTestId: string;
  pickTestId?: string;
  /** "folder" opens the folder picker; a string opens a save dialog with that suggested name. */
  pick: "folder" | { save: string };
  onPicked?: (path: string) => void;
  onError?: (e: AppError) => void;
  placeholder?: string;
  disabled?: boolean;
};

/** A path typed by hand or chosen in the native dialog. */
export function PathField(p: Props) {
  const [picking, setPicking] = useState(false);
  const choose = async () => {
    setPicking(true);
    try {
      const path = p.pick === "folder" ? await pickFolder() : await pickSaveFile(p.pick.save);
      if (path) {
        p.onInput(path);
        p.onPicked?.(path);
      }
    } catch (e) {
      p.onError?.(toAppError(e));
    } finally {
      setPicking(false);
    }
  };
  return (
    <div class="path-field">
      <label>
        <span class="label">{p.label}</span>
        <input
          type="text"
          spellcheck={false}
          autocomplete="off"
          data-testid={p.inputTestId}
          value={p.value}
          placeholder={p.placeholder}
          disabled={p.disabled}
          onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && p.onSubmit) {
              e.preventDefault();
              p.onSubmit();
            }
          }}
        />
      </label>
      <button type="button" data-testid={p.pickTestId} onClick={choose} disabled={picking || p.disabled}>
        {p.pick === "folder" ? "Choose folder…" : "Choose file…"}
      </button>
    </div>
  );
}
