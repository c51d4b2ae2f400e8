import type { ReviewItem } from "../../bindings/ReviewItem";
import { imageSrc } from "../../ipc";

/**
 * The whole photo with the detection's box. The box is in original photo
 * pixels, so the SVG's viewBox is the photo's size and the (smaller)
 * catalogue thumbnail, when there is one, is stretched into it: it has the
 * same aspect ratio and decodes far faster than a 24-megapixel original.
 */
export function PhotoBox({ item }: { item: ReviewItem }) {
  const w = Math.max(1, item.photoWidth);
  const h = Math.max(1, item.photoHeight);
  const [x1, y1, x2, y2] = item.box;
  const src = imageSrc(item.thumbPath ?? item.photoPath);
  return (
    <svg class="photo-box" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="xMidYMid meet" role="img" aria-label="photo with detection box">
      <image href={src} x={0} y={0} width={w} height={h} preserveAspectRatio="none" />
      <rect
        class="det-box"
        x={Math.min(x1, x2)}
        y={Math.min(y1, y2)}
        width={Math.abs(x2 - x1)}
        height={Math.abs(y2 - y1)}
        vector-effect="non-scaling-stroke"
      />
    </svg>
  );
}
