"""The whole loop in 30 lines: a teacher scores mined candidates once (cached in a store), a
query-side student trains on them, its index is built and evaluated on the test split.
Usage: python examples/quickstart.py [BEIR folder] [teacher spec] [output folder]"""

import sys

import rankdistill as rd


def main(data: str, teacher_spec: str, output: str, model: str = "all-MiniLM-L6-v2") -> float:
    train = rd.open_dataset(data, "train")
    teacher = rd.build_teacher(teacher_spec)
    mined = rd.mine(train, ["bm25", f"dense:{model}"], teacher, f"{output}/store", n_top=4)
    student = rd.train_student(rd.TrainConfig(  # only the query encoder trains; documents stay frozen
        name="student", output_dir=output,
        data=rd.DataConfig(dataset=data, negatives=4),
        student=rd.StudentConfig(model=model, frozen_documents=True),
        loss={"listwise_kl": {"scale": 20, "weight": 0.3}, "infonce": {}},
        trainer=rd.TrainerConfig(epochs=2, batch_size=8), dev=rd.DevConfig(queries=0),
    ), records=mined.records).student  # fmt: skip
    test = rd.open_dataset(data, "test")
    index = rd.build_index(str(student), test, "Flat", f"{output}/index")  # built, then opened
    return rd.evaluate(test, index).result.aggregate["nDCG@10"]


if __name__ == "__main__":
    data, teacher, output = (sys.argv[1:] + ["data/sample", "bi-encoder:all-mpnet-base-v2", "runs/quickstart"][len(sys.argv) - 1 :])[:3]  # fmt: skip
    print(f"student nDCG@10 {main(data, teacher, output):.4f}")
