import sys, types, pickle, collections, io, zipfile, struct
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
class FloatStorage: pass
FloatStorage.__module__ = "torch"; torch.FloatStorage = FloatStorage
def _rebuild_tensor_v2(*a): pass
def _rebuild_parameter(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; _rebuild_parameter.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2; utils._rebuild_parameter = _rebuild_parameter
class Stor:
    def __init__(s, key, vals): s.key, s.vals = key, vals
class T:
    def __init__(s, st, shape): s.st, s.shape = st, shape
    def __reduce__(s):
        stride = (s.shape[1], 1) if len(s.shape) == 2 else (1,)
        return (_rebuild_tensor_v2, (s.st, 0, s.shape, stride, False, collections.OrderedDict()))
class P:
    def __init__(s, t): s.t = t
    def __reduce__(s): return (_rebuild_parameter, (s.t, True, collections.OrderedDict()))
mm = types.ModuleType("mymodels"); sys.modules["mymodels"] = mm
class Module:
    def __init__(s): 
        s.training = True; s._parameters = collections.OrderedDict(); s._buffers = collections.OrderedDict()
        s._non_persistent_buffers_set = set(); s._modules = collections.OrderedDict()
Module.__module__ = "mymodels"; Module.__qualname__ = "Module"; mm.Module = Module
class Linear(Module): pass
Linear.__module__ = "mymodels"; Linear.__qualname__ = "Linear"; mm.Linear = Linear
Module.__name__="Module"; Linear.__name__="Linear"
stors = {"0": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "1": [0.5, -0.5], "2": [9.0], "3": [7.0, 8.0]}
S = {k: Stor(k, v) for k, v in stors.items()}
net = Module()
fc = Linear(); fc._parameters["weight"] = P(T(S["0"], (2, 3))); fc._parameters["bias"] = P(T(S["1"], (2,)))
net._modules["fc"] = fc
net._modules["act"] = None
net._parameters["scale"] = P(T(S["2"], (1,)))
net._parameters["unused"] = None
net._buffers["running"] = T(S["3"], (2,))
net._buffers["tmp"] = T(S["3"], (2,))
net._non_persistent_buffers_set = {"tmp"}
buf = io.BytesIO()
p = pickle.Pickler(buf, protocol=2)
p.persistent_id = lambda o: ("storage", FloatStorage, o.key, "cpu", len(o.vals)) if isinstance(o, Stor) else None
p.dump(net)
z = zipfile.ZipFile("module.pth", "w", zipfile.ZIP_STORED)
z.writestr("module/data.pkl", buf.getvalue())
for k, v in stors.items():
    z.writestr("module/data/" + k, struct.pack("<%df" % len(v), *v))
z.writestr("module/version", "3\n")
z.close()
