"""Helpers shared by the tests that compare qbench with llama.cpp (llama-cpp-python)."""
import subprocess


def qb(qbench, *args):
    """Runs qbench; a non-zero exit fails the test with its stderr."""
    p = subprocess.run([qbench, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"qbench {' '.join(args)} failed ({p.returncode}): {p.stderr[-3000:]}")
    return p


def no_extra_bufts(llama_cpp):
    """Models load with use_extra_bufts=false: the wheel's AMX/repacked path crashes in these VMs
    (SIGSEGV in ggml_backend_amx_mul_mat), and the plain CPU path is the reference anyway."""
    orig = llama_cpp.llama_model_default_params

    def params():
        p = orig()
        p.use_extra_bufts = False
        return p
    llama_cpp.llama_model_default_params = params
    import llama_cpp.llama as ll
    ll.llama_cpp.llama_model_default_params = params
