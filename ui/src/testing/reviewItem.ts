// Fixtures for the UI's tests, never imported by the app itself.
import type { ReviewItem } from "../bindings/ReviewItem";
import { NO_GRADES } from "../lib/grades";

/** A review item with `fields` set and the rest plain: photo `detectionId × 10`,
 * 100×80, no encounter, date, place, species or suggestions. */
export function reviewItem(fields: Partial<ReviewItem> & Pick<ReviewItem, "detectionId">): ReviewItem {
  return {
    photoId: fields.detectionId * 10,
    encounterId: null,
    encounterLabel: "no date",
    photoPath: `/p/${fields.detectionId}.jpg`,
    thumbPath: null,
    cropPath: null,
    photoWidth: 100,
    photoHeight: 80,
    box: [1, 2, 3, 4],
    takenAt: null,
    latitude: null,
    longitude: null,
    species: null,
    suggestedSpecies: null,
    suggestions: [],
    threshold: null,
    grades: NO_GRADES,
    ...fields,
  };
}
