/* imageattach.core._speedups: the one check of a file that every 304 makes, in C.
 *
 * A revalidation (SPEC 10.4) asks whether the file at a path is still the file
 * the engine opened before: the same inode, device, size, mtime and ctime.
 * os.stat() answers that, but builds a stat_result of 19 fields on the way
 * (floats and nanosecond ints among them), which costs about as much as the
 * system call's path walk.  same_file() makes the same fstatat() and compares
 * the five fields in place: about 1 us less per 304.
 *
 * Optional: the wheel build compiles it where it can, and _confined.py falls
 * back to os.stat() when it is missing or IMAGEATTACH_NO_EXTENSIONS is set.
 * Both answer the same for every input (packages/core/tests/test_confined.py).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define NS_PER_SECOND 1000000000LL

/* Whether a timestamp equals ``ns``, the sum os.stat() makes of it:
 * tv_sec * 10**9 + tv_nsec.  Split rather than multiplied, so no value overflows. */
static int
same_time(const struct timespec *time, long long ns)
{
    long long seconds = ns / NS_PER_SECOND;
    long long rest = ns % NS_PER_SECOND;
    if (rest < 0) {  /* before 1970: os.stat()'s floor division */
        rest += NS_PER_SECOND;
        seconds -= 1;
    }
    return (long long)time->tv_sec == seconds && (long long)time->tv_nsec == rest;
}

/* An identity field as a C integer; 0 when it is out of range (no file has it). */
static int
signed_field(PyObject *value, long long *out)
{
    long long result = PyLong_AsLongLong(value);
    if (result == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = result;
    return 1;
}

static int
unsigned_field(PyObject *value, unsigned long long *out)
{
    unsigned long long result = PyLong_AsUnsignedLongLong(value);
    if (result == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = result;
    return 1;
}

PyDoc_STRVAR(same_file_doc,
"same_file(dir_fd, follow_symlinks, path, identity, /) -> bool\n\n"
"Whether ``path`` is the file whose identity is ``identity``:\n"
"``(st_mtime_ns, st_size, st_ino, st_dev, st_ctime_ns)`` as os.stat() gives\n"
"them.  ``path`` is relative to the directory ``dir_fd``, or with None taken\n"
"as os.stat() takes it.  False for a file that is missing, different or out\n"
"of reach, and for a path no file can have (a NUL byte).");

static PyObject *
same_file(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "same_file() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    int dir_fd = AT_FDCWD;  /* None: a path relative to the working directory, or absolute */
    if (args[0] != Py_None) {
        long value = PyLong_AsLong(args[0]);
        if (value == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (value < 0 || value > INT_MAX) {
            PyErr_SetString(PyExc_ValueError, "same_file(): dir_fd must be a descriptor or None");
            return NULL;
        }
        dir_fd = (int)value;
    }
    int follow = PyObject_IsTrue(args[1]);
    if (follow < 0) {
        return NULL;
    }
    PyObject *path = args[2];
    PyObject *identity = args[3];
    if (!PyUnicode_Check(path)) {
        PyErr_SetString(PyExc_TypeError, "same_file(): path must be a str");
        return NULL;
    }
    if (!PyTuple_Check(identity) || PyTuple_GET_SIZE(identity) != 5) {
        PyErr_SetString(PyExc_TypeError, "same_file(): identity must be a tuple of 5 ints");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < 5; i++) {
        if (!PyLong_Check(PyTuple_GET_ITEM(identity, i))) {
            PyErr_SetString(PyExc_TypeError, "same_file(): identity must be a tuple of 5 ints");
            return NULL;
        }
    }
    long long mtime_ns, size, ctime_ns;
    unsigned long long inode, device;
    if (!signed_field(PyTuple_GET_ITEM(identity, 0), &mtime_ns)
        || !signed_field(PyTuple_GET_ITEM(identity, 1), &size)
        || !unsigned_field(PyTuple_GET_ITEM(identity, 2), &inode)
        || !unsigned_field(PyTuple_GET_ITEM(identity, 3), &device)
        || !signed_field(PyTuple_GET_ITEM(identity, 4), &ctime_ns)) {
        Py_RETURN_FALSE;
    }

#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(path) < 0) {  /* a legacy string: its data made canonical */
        return NULL;
    }
#endif
    /* The name's bytes as os.stat() would pass them: ASCII as it is (every
     * filesystem encoding agrees on it), anything else encoded by Python. */
    PyObject *encoded = NULL;
    const char *name;
    Py_ssize_t length;
    if (PyUnicode_IS_ASCII(path)) {
        name = (const char *)PyUnicode_DATA(path);
        length = PyUnicode_GET_LENGTH(path);
    }
    else {
        encoded = PyUnicode_EncodeFSDefault(path);
        if (encoded == NULL) {
            PyErr_Clear();  /* not encodable: no file has this name */
            Py_RETURN_FALSE;
        }
        name = PyBytes_AS_STRING(encoded);
        length = PyBytes_GET_SIZE(encoded);
    }

    int same = 0;
    if ((Py_ssize_t)strlen(name) == length) {  /* a NUL inside names no file */
        struct stat st;
        int result;
        Py_BEGIN_ALLOW_THREADS
        result = fstatat(dir_fd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
        Py_END_ALLOW_THREADS
        same = result == 0
            && same_time(&st.st_mtim, mtime_ns)
            && (long long)st.st_size == size
            && (unsigned long long)st.st_ino == inode
            && (unsigned long long)st.st_dev == device
            && same_time(&st.st_ctim, ctime_ns);
    }
    Py_XDECREF(encoded);
    return PyBool_FromLong(same);
}

static PyMethodDef speedups_methods[] = {
    {"same_file", (PyCFunction)(void (*)(void))same_file, METH_FASTCALL, same_file_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot speedups_slots[] = {
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},  /* no state: safe without the GIL */
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "imageattach.core._speedups",
    .m_doc = "The per-request file check of the serving engine, in C (optional).",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
