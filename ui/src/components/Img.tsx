import { imageSrc } from "../ipc";

type Props = {
  path: string | null | undefined;
  alt: string;
  class?: string;
  title?: string;
  draggable?: boolean;
};

/** A file on disk shown through the asset protocol, or a quiet placeholder. */
export function Img({ path, alt, class: cls, title, draggable = false }: Props) {
  if (!path) {
    return (
      <div class={`img-missing ${cls ?? ""}`} title={title ?? alt} aria-label={alt}>
        no image
      </div>
    );
  }
  return (
    <img
      class={cls}
      src={imageSrc(path)}
      alt={alt}
      title={title}
      loading="lazy"
      decoding="async"
      draggable={draggable}
    />
  );
}
