"""Build a model serializer's fields from its model once, not on every use."""

import copy


# For a ModelSerializer whose fields depend on its Meta alone. DRF builds
# every field from the model each time a serializer is made, which was a
# sixth of what answering a new lead cost. Built once per class, the fields
# are deep-copied for each use, as DRF copies declared fields, so no two
# serializers ever share a field. (No docstring: the API schema would show
# it as the description of every serializer that mixes this in.)
class FieldsBuiltOnce:
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            # Two threads may both build them: the same fields, either kept.
            built = super().get_fields()
            cls._fields_built_once = built
        return copy.deepcopy(built)
