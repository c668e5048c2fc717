"""Every config stays usable alone with --config (users copy the original project's commands), so each repeats its
base; this keeps the repetition honest. Each training config equals its base except the keys it is meant to
change, and each sampling config's network is the UNet of the training config its weights come from."""
import os

import pytest
import yaml

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
TRAINER_CALLBACK_DIR = "trainer.callbacks.0.init_args.dirpath"
RUN_NAME = "trainer.logger.init_args.name"
PREDICTIONS_DIR = "trainer.callbacks.3.init_args.output_dir"

# config -> (its base, the keys it changes). The CPU recipes are compact: small_cpu.yaml sets only what it
# changes of the released recipe and leaves the rest to the code's defaults, so it is compared on the keys it sets.
DERIVED = {
    "t_finetune_2split_0.0_0.5": ("pretrain", {"model.train_t_max", "model.init_weights_from", TRAINER_CALLBACK_DIR,
                                               RUN_NAME, PREDICTIONS_DIR}),
    "t_finetune_2split_0.5_1.0": ("pretrain", {"model.train_t_min", "model.init_weights_from", TRAINER_CALLBACK_DIR,
                                               RUN_NAME, PREDICTIONS_DIR}),
    "small_cpu": ("pretrain", {
        "trainer.accelerator", "trainer.devices", "trainer.precision", "trainer.max_time", "trainer.val_check_interval",
        "trainer.log_every_n_steps", "trainer.callbacks.0.init_args.every_n_train_steps",
        "trainer.callbacks.1.init_args.num_items", TRAINER_CALLBACK_DIR, RUN_NAME,
        "model.lr", "model.val_sampling_steps", "model.val_restore_items", "model.test_sampling_steps",
        "model.vf_model.init_args.hidden_channels", "model.vf_model.init_args.attention_levels",
        "model.vf_model.init_args.num_res_blocks", "model.vf_model.init_args.num_heads",
        "model.vf_model.init_args.dropout",
        "data.batch_size", "data.num_workers", "data.samples_per_epoch", "data.segment_samples",
        "data.mix_dataset_config.real_music.filename", "data.mix_dataset_config.real_music.root_folder",
        "data.mix_dataset_config.real_music.apply_sr_loss_mask"}),
    "small": ("small_cpu", {"model.vf_model.init_args.attention_levels", "model.vf_model.init_args.input_skip",
                            "trainer.max_time", TRAINER_CALLBACK_DIR, RUN_NAME}),
    "small_high": ("small", {"model.vf_model.init_args.freq_attention_levels", "model.train_t_min",
                             "model.init_weights_from", "trainer.max_time", TRAINER_CALLBACK_DIR, RUN_NAME}),
    "small_low": ("small_high", {"model.train_t_min", "model.train_t_max", "trainer.max_time", TRAINER_CALLBACK_DIR,
                                 RUN_NAME}),
    "tiny_cpu": ("small_cpu", {
        "trainer.precision", "trainer.max_time", "trainer.max_epochs", "trainer.val_check_interval",
        "trainer.log_every_n_steps", "trainer.callbacks.0.init_args.every_n_train_steps", TRAINER_CALLBACK_DIR,
        RUN_NAME, "trainer.logger.init_args.save_dir", "trainer.callbacks.2.class_path",
        "trainer.callbacks.2.init_args.output_dir", "model.val_sampling_steps", "model.test_sampling_steps",
        "model.vf_model.init_args.hidden_channels", "data.samples_per_epoch",
        "data.mix_dataset_config.real_music.filename", "data.mix_dataset_config.real_music.root_folder",
        "data.mix_dataset_config.real_music.apply_sr_loss_mask", "data.mix_dataset_config.demo.filename",
        "data.mix_dataset_config.demo.root_folder", "data.mix_dataset_config.demo.apply_sr_loss_mask"}),
}
COMPACT = {"small_cpu"}
SAMPLING = {"ensemble_1split_sampling": "pretrain", "ensemble_2split_sampling": "t_finetune_2split_0.0_0.5",
            "small_sampling": "small_high"}


def load(name):
    with open(os.path.join(CONFIGS, f"{name}.yaml")) as file:
        return yaml.safe_load(file)


def leaves(tree, prefix=""):
    """{"a.b.0.c": value} of nested dicts and lists of dicts; other lists are values."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list) and tree and all(isinstance(item, dict) for item in tree):
        items = enumerate(tree)
    else:
        return {prefix[:-1]: tree}
    return {key: value for name, child in items for key, value in leaves(child, f"{prefix}{name}.").items()}


def test_every_config_is_checked():
    names = {name[:-len(".yaml")] for name in os.listdir(CONFIGS) if name.endswith(".yaml")}
    assert names == {"pretrain"} | set(DERIVED) | set(SAMPLING)


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_training_config_equals_its_base_but_for_the_keys_it_changes(name):
    base_name, changes = DERIVED[name]
    base, config = leaves(load(base_name)), leaves(load(name))
    keys = set(config) if name in COMPACT else set(base) | set(config)
    differ = {key for key in keys if base.get(key, "<absent>") != config.get(key, "<absent>")}
    assert differ == changes


@pytest.mark.parametrize("name", sorted(SAMPLING))
def test_sampling_network_is_its_training_configs_unet(name):
    training = load(SAMPLING[name])["model"]["vf_model"]
    assert training["class_path"] == "models.unet.UNet"
    assert load(name)["network"] == training["init_args"]
