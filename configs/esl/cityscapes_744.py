# ESL, Cityscapes, 744 labeled images (1/4), DeepLabV3+ R101 (OS 16) +
# projector head, crop 769, OHEM cross-entropy, 8 labeled + 8 unlabeled per
# step (4 GPUs x (2 + 2)), SGD lr 0.01 (heads x10), wd 5e-4, poly 0.9,
# 200 unlabeled epochs, sliding-window evaluation (769, stride 512).
#   tools/dist_train.sh configs/esl/cityscapes_744.py 4
# The method's settings are in ../_base_/esl_deeplabv3plus_r101-d16.py.
_base_ = [
    '../_base_/esl_deeplabv3plus_r101-d16.py',
    '../_base_/datasets/semi_cityscapes.py'
]
num_labeled = 744
segmentor = _base_.segmentor
segmentor.data_preprocessor.size = _base_.crop_size
segmentor.decode_head.num_classes = 19
# the paper applies OHEM "like previous methods [7, 43]" (Sec. 4.1) without
# its constants: U2PL's [43] OHEM cross-entropy, thresh 0.7, min_kept 100000
# over one GPU's labeled batch of 2 crops, as here
# (U2PL experiments/cityscapes/744/ours/config.yaml:19,62-66); mean over the
# kept pixels
segmentor.decode_head.loss_decode = dict(
    _delete_=True, type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=100000)
segmentor.test_cfg = dict(
    mode='slide', crop_size=(769, 769), stride=(512, 512))
model = dict(
    segmentor=segmentor,
    data_preprocessor=dict(data_preprocessor=segmentor.data_preprocessor))
# ESL uses the weak view and its CutMix only: the dataset's unlabeled
# pipeline without its photometric strong branch
unlabeled_pipeline = _base_.unlabeled_pipeline
unlabeled_pipeline[-1].pop('unsup_strong')
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../splits/cityscapes/744/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../splits/cityscapes/744/unlabeled.txt'
unlabeled_dataset.pipeline = unlabeled_pipeline
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=5e-4))
train_cfg = dict(max_epochs=200)
custom_hooks = _base_.custom_hooks
custom_hooks[1].batch_size = 2  # PrototypeInitHook
