"""Layer 2: policies - documents, their evaluation, grants, and the permissions engine.

* :mod:`.document`: parsing and validating policy documents, AWS's formatting;
* :mod:`.evaluation`: does one statement apply to one request, and why;
* :mod:`.grants`: does one grant allow one request, and why;
* :mod:`.authz`: the permissions engine that combines key policies, identity
  policies and grants into one decision with its reasons.
"""
