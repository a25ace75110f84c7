"""Offline pseudo-label engine (DARS, three-stage argmax pseudo-masks)."""
from .generator import (FLIP_AVERAGES, LIST_FILE, SUMMARY_FILE,
                        PseudoLabelGenerator, labeled_class_distribution,
                        model_fingerprint, prediction_settings,
                        pseudo_label_image_id)
from .selection import (FP16_ONE, KEY_RANGE, MODES, NUM_CONF_BINS, SAMPLINGS,
                        class_histogram, code_to_confidence, confidence_codes,
                        keep_mask, kl_divergence, pixel_keys, radix_boundary,
                        select_thresholds)

__all__ = [
    'PseudoLabelGenerator', 'labeled_class_distribution',
    'pseudo_label_image_id', 'model_fingerprint', 'prediction_settings',
    'FLIP_AVERAGES',
    'LIST_FILE',
    'SUMMARY_FILE', 'FP16_ONE', 'KEY_RANGE', 'MODES', 'NUM_CONF_BINS',
    'SAMPLINGS', 'class_histogram', 'code_to_confidence', 'confidence_codes',
    'keep_mask', 'kl_divergence', 'pixel_keys', 'radix_boundary',
    'select_thresholds'
]
