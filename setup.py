"""Installs s2f: the s2f_tf library, data_prep jobs, schema and experiments."""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def requirements():
  with open(os.path.join(HERE, "requirements.txt"), encoding="utf-8") as f:
    lines = (line.split("#")[0].strip() for line in f)
    return [line for line in lines if line]


setuptools.setup(
    name="s2f",
    version="0.1.0",
    description=("Speech2Face (Oh et al., CVPR 2019) in TensorFlow/Keras: "
                 "speech -> VGG-Face feature -> canonical face"),
    long_description=open(os.path.join(HERE, "README.md"),
                          encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=setuptools.find_packages(
        include=["s2f_tf", "s2f_tf.*", "data_prep", "data_prep.*",
                 "tfrecords_schema", "tfrecords_schema.*", "experiments",
                 "experiments.*"]),
    package_data={"experiments": ["configs/*/*.json", "demo_data/*/*",
                                  "demo_data/models/*/*"],
                  "s2f_tf.app": ["serve_page.html"],
                  "data_prep": ["splits/*.csv"],
                  "s2f_tf": ["models/weights/*", "models/weights/shipped/*",
                             "models/weights/shipped/checkpoints/*"]},
    install_requires=requirements(),
    entry_points={"console_scripts": [
        "s2f = s2f_tf.app.cli:run",
        "s2f-train = experiments.train:run",
        "s2f-train-face-decoder = experiments.train_face_decoder:run",
        "s2f-evaluate = experiments.evaluate:run",
        "s2f-prepare-shards = data_prep.prepare_shards:run",
        "s2f-prepare-decoder-data = data_prep.prepare_decoder_data:run",
        "s2f-check-vgg-face = experiments.check_vgg_face:run",
    ]},
)
