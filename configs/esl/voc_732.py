# ESL, PASCAL VOC 2012 classic, 732 labeled images (1/2 of the 1,464),
# DeepLabV3+ R101 (OS 16) + projector head (3 Conv-BN-ReLU, 512 channels at
# stride 4), crop 513, 8 labeled + 8 unlabeled per step (4 GPUs x (2 + 2)),
# SGD lr 0.001 (heads x10), wd 1e-4, poly 0.9, 80 unlabeled epochs,
# DSL eta = 0.95, K = 5 parts, lambda1 = 0.2, lambda2 = 0.1. See README.md.
#   tools/dist_train.sh configs/esl/voc_732.py 4
# The method's settings are in ../_base_/esl_deeplabv3plus_r101-d16.py.
_base_ = [
    '../_base_/esl_deeplabv3plus_r101-d16.py',
    '../_base_/datasets/semi_voc_classic.py'
]
num_labeled = 732
segmentor = _base_.segmentor
segmentor.data_preprocessor.size = _base_.crop_size
# Eq. 2 divides by N = H x W, every pixel of the labeled crop: ignored and
# padded pixels add 0 to the sum and count in N (mmseg's plain mean);
# avg_non_ignore=True (mean over the labelled pixels, U2PL's CELoss) is a
# switch
segmentor.decode_head.loss_decode.avg_non_ignore = False
model = dict(
    segmentor=segmentor,
    data_preprocessor=dict(data_preprocessor=segmentor.data_preprocessor))
# ESL uses the weak view and its CutMix only: the dataset's unlabeled
# pipeline without its photometric strong branch
unlabeled_pipeline = _base_.unlabeled_pipeline
unlabeled_pipeline[-1].pop('unsup_strong')
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/pascal/732/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/pascal/732/unlabeled.txt'
unlabeled_dataset.pipeline = unlabeled_pipeline
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
train_cfg = dict(max_epochs=80)
